/* The GUIDs of idl/clr_metahost.idl (CLSID_CLRMetaHost, IID_ICLRMetaHost,
 * IID_ICLRRuntimeInfo), defined once for the launcher. */
#include <windows.h>
#include <initguid.h>
#include "clr_metahost.h"
