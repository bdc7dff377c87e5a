/* Defines the GUIDs of the stock headers hosttask uses (mscoree.h has no
 * import library that carries them).  hosttask's own IIDs come from the
 * widl -u files. */
#include <windows.h>
#include <initguid.h>
#include <mscoree.h>
