/*
 * C++ with CINTERFACE: the interfaces are C structs with lpVtbl, as some
 * C++ code bases want them, but REFIID is still a C++ reference.  The
 * public header must compile this way too (-Wall -Wextra -Werror).  Built,
 * not linked: its interface types differ from consumer.cpp's.
 */
#define CINTERFACE
#define COBJMACROS
#include <hosttask/hosttask.h>

HRESULT cinterface_round_trip(void);

HRESULT cinterface_round_trip(void)
{
    IHostTaskManager *manager = NULL;
    IHostControl *control = NULL;
    HRESULT hr;

    if (FAILED(hr = ht_create_host_control(&control)))
        return hr;
    hr = ht_get_manager_interface(control, IID_IHostTaskManager, (void **)&manager);
    if (SUCCEEDED(hr))
    {
        IHostTaskManager_LeaveRuntime(manager, 0);
        IHostTaskManager_EnterRuntime(manager);
        IHostTaskManager_Release(manager);
    }
    IHostControl_Release(control);
    return hr;
}
