/*
 * DllRegisterServer and DllUnregisterServer: the registry script that widl
 * generates from idl/hosttask_classes.idl, applied by the registrar
 * component (CLSID_Registrar, served by atl.dll on Windows and in Wine).
 * No hand-written registry table exists to drift from the IDL.
 */
#include "private.h"
/* Defines the registrar's GUIDs here, the only user. */
#include <initguid.h>
#include "atliface.h"

/* Generated from the widl -r output (cmake/embed_text.cmake). */
extern const WCHAR ht__registry_script[];

HRESULT ht__register(BOOL install)
{
    WCHAR path[MAX_PATH];
    IRegistrar *registrar;
    HRESULT hr, init;
    DWORD length;

    length = GetModuleFileNameW(ht__instance, path, ARRAYSIZE(path));
    if (!length || length >= ARRAYSIZE(path))
        return HRESULT_FROM_WIN32(ERROR_FILENAME_EXCED_RANGE);

    /* regsvr32 initialises COM, other callers may not.  RPC_E_CHANGED_MODE
     * means COM is up in the other apartment model, which serves as well. */
    init = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    hr = CoCreateInstance(&CLSID_Registrar, NULL, CLSCTX_INPROC_SERVER, &IID_IRegistrar,
            (void **)&registrar);
    if (SUCCEEDED(hr))
    {
        hr = IRegistrar_AddReplacement(registrar, L"MODULE", path);
        if (SUCCEEDED(hr))
            hr = install ? IRegistrar_StringRegister(registrar, ht__registry_script)
                         : IRegistrar_StringUnregister(registrar, ht__registry_script);
        IRegistrar_Release(registrar);
    }
    if (init == S_OK || init == S_FALSE)
        CoUninitialize();
    return hr;
}
