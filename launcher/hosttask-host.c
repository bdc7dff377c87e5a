/*
 * hosttask-host: a .NET Framework CLR host that installs hosttask as the
 * runtime's task manager and reports every managed/native transition.
 *
 *   hosttask-host [options] ASSEMBLY TYPE METHOD [ARGUMENT]
 *   hosttask-host --simulate[=WORKLOAD] [options] [ASSEMBLY TYPE METHOD [ARGUMENT]]
 *
 * The real path binds the .NET Framework 4 runtime (CLRCreateInstance ->
 * ICLRMetaHost::GetRuntime("v4.0.30319") -> ICLRRuntimeInfo::GetInterface(
 * CLSID_CLRRuntimeHost), CorBindToRuntimeEx as a fallback, mscoree.dll
 * loaded at run time), hands it hosttask's IHostControl with SetHostControl
 * before Start, runs static int METHOD(string) with
 * ExecuteInDefaultAppDomain, prints the report and exits with the method's
 * return value.  --simulate gets the ICLRRuntimeHost from the CLR-style
 * driver instead; everything else is the same code.
 */
#define COBJMACROS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hosttask/hosttask.h>
#include "clr_metahost.h"
#include "htdriver.h"
#include "report.h"
#include "trace_out.h"

#define CLR_VERSION L"v4.0.30319"

/* Exit codes other than the method's own return value. */
enum
{
    EXIT_USAGE = 2,
    EXIT_NO_RUNTIME = 3,        /* no CLR could be bound, or it refused the host */
    EXIT_NO_HOST = 4,           /* hosttask's host control could not be created */
    EXIT_EXECUTE_FAILED = 5,    /* ExecuteInDefaultAppDomain failed (exception, missing method) */
    EXIT_CHECK_FAILED = 6       /* simulate: the report does not match what the driver did */
};

struct options
{
    BOOL simulate;
    const struct htd_workload *workload;
    struct htd_options driver;
    const WCHAR *dll;
    const WCHAR *json;
    const WCHAR *trace, *html;  /* --trace FILE, --html FILE (launcher/trace_out.c) */
    BOOL profiling;
    BOOL scheduler;             /* --scheduler given: set it; otherwise the server's own setting */
    UINT slots, quantum_us;
    unsigned int top;
    const WCHAR *assembly, *type, *method, *argument;
};

static void usage(FILE *out)
{
    unsigned int i;

    fprintf(out,
        "usage: hosttask-host [options] ASSEMBLY TYPE METHOD [ARGUMENT]\n"
        "       hosttask-host --simulate[=WORKLOAD] [options] [ASSEMBLY TYPE METHOD [ARGUMENT]]\n"
        "\n"
        "Runs static int METHOD(string ARGUMENT) of TYPE in ASSEMBLY on the .NET Framework 4\n"
        "runtime with hosttask as its task manager, prints a transition report and exits\n"
        "with the method's return value.\n"
        "\n"
        "  --simulate[=WORKLOAD]  no real CLR: the CLR-style driver plays the runtime and runs\n"
        "                         WORKLOAD (default: default).  ASSEMBLY TYPE METHOD, if given,\n"
        "                         name the workload (TYPE %ls, METHOD as below).  The\n"
        "                         runtime starts its own finalizer and AD-unload helper,\n"
        "                         shown as tasks of their own.\n"
        "  --pinvoke=x64|x86      simulate: P/Invoke stubs of that architecture (default x64)\n"
        "  --static-manager       simulate: the CLR's ICLRTaskManager AddRef/Release return 1\n"
        "  --dll PATH             use hosttask.dll at PATH, registration-free; default: the\n"
        "                         registered server (ProgID HostTask.HostControl)\n"
        "  --json FILE            also write the report as JSON (launcher/report.schema.json)\n"
        "  --trace FILE           record a timeline and write it in the Chrome Trace Event Format\n"
        "                         (Perfetto, chrome://tracing; launcher/trace.schema.json)\n"
        "  --html FILE            record a timeline and write it with the report as one HTML page\n"
        "  --scheduler=SLOTS[,QUANTUM_US]\n"
        "                         cooperative mode (SQL Server style): SLOTS tasks run managed code at\n"
        "                         a time (a number, or auto for one per processor; 0 is thread-per-task);\n"
        "                         one holding its slot QUANTUM_US (default 4000) while others wait is\n"
        "                         asked to yield.  Absent: the server's setting, thread-per-task unless\n"
        "                         HOSTTASK_SCHEDULER or the registry says otherwise\n"
        "  --no-profile           no per-target calls and native times (cheaper transitions)\n"
        "  --top N                targets per table (default 10)\n"
        "  --help                 this text\n"
        "\n"
        "Workloads:\n", HTD_WORKLOAD_TYPE);
    for (i = 0; i < htd_workload_count; i++)
        fprintf(out, "  %-10s %ls: %s\n", htd_workloads[i].name, htd_workloads[i].method,
                htd_workloads[i].description);
    fprintf(out,
        "\n"
        "Exit codes: the method's return value; 2 usage; 3 no CLR or the CLR refused the host;\n"
        "4 no host control; 5 the method failed; 6 simulate: report and driver disagree.\n");
}

static BOOL starts_with(const WCHAR *s, const WCHAR *prefix, const WCHAR **rest)
{
    size_t n = lstrlenW(prefix);

    if (wcsncmp(s, prefix, n))
        return FALSE;
    *rest = s + n;
    return TRUE;
}

/* SLOTS[,QUANTUM_US]: SLOTS a number or "auto", QUANTUM_US a number (0:
 * the default).  The server checks the ranges. */
static BOOL parse_scheduler(const WCHAR *text, UINT *slots, UINT *quantum_us)
{
    unsigned long value;
    WCHAR *end;

    if (!_wcsnicmp(text, L"auto", 4))
    {
        *slots = HT_SCHEDULER_AUTO;
        end = (WCHAR *)text + 4;
    }
    else
    {
        if (*text < '0' || *text > '9')
            return FALSE;
        /* An overflow reads as ULONG_MAX, HT_SCHEDULER_AUTO: refused. */
        value = wcstoul(text, &end, 10);
        if (value >= HT_SCHEDULER_AUTO)
            return FALSE;
        *slots = (UINT)value;
    }
    *quantum_us = 0;
    if (!*end)
        return TRUE;
    if (*end != ',' || end[1] < '0' || end[1] > '9')
        return FALSE;
    /* An overflow reads as ULONG_MAX, which the server refuses. */
    value = wcstoul(end + 1, &end, 10);
    if (*end)
        return FALSE;
    *quantum_us = (UINT)value;
    return TRUE;
}

static int parse_options(int argc, WCHAR **argv, struct options *o)
{
    const WCHAR *rest;
    char name[64];
    int i, positional = 0;

    memset(o, 0, sizeof(*o));
    o->profiling = TRUE;
    o->top = 10;
    o->driver.style = HTD_PINVOKE_X64;
    for (i = 1; i < argc; i++)
    {
        const WCHAR *a = argv[i];

        if (!wcscmp(a, L"--help") || !wcscmp(a, L"-h"))
        {
            usage(stdout);
            exit(0);
        }
        else if (!wcscmp(a, L"--simulate"))
            o->simulate = TRUE;
        else if (starts_with(a, L"--simulate=", &rest))
        {
            o->simulate = TRUE;
            snprintf(name, sizeof(name), "%ls", rest);
            if (!(o->workload = htd_find_workload(name)))
            {
                fprintf(stderr, "hosttask-host: unknown workload '%ls' (see --help)\n", rest);
                return EXIT_USAGE;
            }
        }
        else if (starts_with(a, L"--pinvoke=", &rest))
        {
            if (!wcscmp(rest, L"x64"))
                o->driver.style = HTD_PINVOKE_X64;
            else if (!wcscmp(rest, L"x86"))
                o->driver.style = HTD_PINVOKE_X86;
            else
            {
                fprintf(stderr, "hosttask-host: --pinvoke takes x64 or x86\n");
                return EXIT_USAGE;
            }
        }
        else if (starts_with(a, L"--scheduler=", &rest))
        {
            if (!parse_scheduler(rest, &o->slots, &o->quantum_us))
            {
                fprintf(stderr, "hosttask-host: --scheduler takes SLOTS[,QUANTUM_US], SLOTS a number or auto "
                        "(see --help)\n");
                return EXIT_USAGE;
            }
            o->scheduler = TRUE;
        }
        else if (!wcscmp(a, L"--static-manager"))
            o->driver.static_manager = TRUE;
        else if (!wcscmp(a, L"--no-profile"))
            o->profiling = FALSE;
        else if ((!wcscmp(a, L"--dll") || !wcscmp(a, L"--json") || !wcscmp(a, L"--top")
                || !wcscmp(a, L"--trace") || !wcscmp(a, L"--html")) && i + 1 < argc)
        {
            if (!wcscmp(a, L"--trace"))
                o->trace = argv[++i];
            else if (!wcscmp(a, L"--html"))
                o->html = argv[++i];
            else if (!wcscmp(a, L"--dll"))
                o->dll = argv[++i];
            else if (!wcscmp(a, L"--json"))
                o->json = argv[++i];
            else
                o->top = (unsigned int)_wtoi(argv[++i]);
        }
        else if (a[0] == '-' && a[1] == '-')
        {
            fprintf(stderr, "hosttask-host: unknown option %ls (see --help)\n", a);
            return EXIT_USAGE;
        }
        else
        {
            switch (positional++)
            {
            case 0: o->assembly = a; break;
            case 1: o->type = a; break;
            case 2: o->method = a; break;
            case 3: o->argument = a; break;
            default:
                fprintf(stderr, "hosttask-host: too many arguments (see --help)\n");
                return EXIT_USAGE;
            }
        }
    }
    if (positional && positional < 3)
    {
        fprintf(stderr, "hosttask-host: ASSEMBLY TYPE METHOD go together (see --help)\n");
        return EXIT_USAGE;
    }
    if (!o->simulate && !positional)
    {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o->simulate && positional && o->workload)
    {
        fprintf(stderr, "hosttask-host: name the workload either with --simulate=NAME or with "
                "TYPE METHOD, not both\n");
        return EXIT_USAGE;
    }
    if (o->simulate && !positional)
    {
        if (!o->workload)
            o->workload = &htd_workloads[0];
        o->assembly = L"hosttask-simulated";
        o->type = HTD_WORKLOAD_TYPE;
        o->method = o->workload->method;
    }
    return 0;
}

/* "0x80070002 (The system cannot find the file specified.)" or with the
 * CLR's own name for hosting codes. */
static void describe_hresult(HRESULT hr, char *out, size_t size)
{
    const char *name = htd_hresult_name(hr);
    WCHAR text[256];
    DWORD n;

    n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)hr, 0, text,
            ARRAYSIZE(text), NULL);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '.'))
        text[--n] = 0;
    if (name && n)
        snprintf(out, size, "0x%08lx, %s: %ls", (unsigned long)hr, name, text);
    else if (name)
        snprintf(out, size, "0x%08lx, %s", (unsigned long)hr, name);
    else if (n)
        snprintf(out, size, "0x%08lx: %ls", (unsigned long)hr, text);
    else
        snprintf(out, size, "0x%08lx", (unsigned long)hr);
}

/* The .NET Framework 4 runtime, the way clrcreateinstance-function.md and
 * iclrruntimeinfo-getinterface-method.md describe; CorBindToRuntimeEx
 * (deprecated in 4.0, still exported) when the metahost path fails.
 * *step names what failed. */
static HRESULT bind_clr(ICLRRuntimeHost **out, const char **step)
{
    HT_CLRCREATEINSTANCE create_instance;
    HT_CORBINDTORUNTIMEEX bind;
    ICLRRuntimeInfo *info = NULL;
    ICLRMetaHost *meta = NULL;
    HMODULE mscoree;
    HRESULT hr, fallback;

    *out = NULL;
    if (!(mscoree = LoadLibraryW(L"mscoree.dll")))
    {
        *step = "mscoree.dll could not be loaded";
        return HRESULT_FROM_WIN32(GetLastError());
    }
    create_instance = (HT_CLRCREATEINSTANCE)(void (*)(void))GetProcAddress(mscoree, "CLRCreateInstance");
    hr = create_instance ? S_OK : HRESULT_FROM_WIN32(GetLastError());
    *step = "mscoree.dll has no CLRCreateInstance";
    if (SUCCEEDED(hr))
    {
        *step = "CLRCreateInstance(CLSID_CLRMetaHost)";
        hr = create_instance(&CLSID_CLRMetaHost, &IID_ICLRMetaHost, (void **)&meta);
    }
    if (SUCCEEDED(hr))
    {
        *step = "ICLRMetaHost::GetRuntime(v4.0.30319)";
        hr = ICLRMetaHost_GetRuntime(meta, CLR_VERSION, &IID_ICLRRuntimeInfo, (void **)&info);
    }
    if (SUCCEEDED(hr))
    {
        *step = "ICLRRuntimeInfo::GetInterface(CLSID_CLRRuntimeHost)";
        hr = ICLRRuntimeInfo_GetInterface(info, &CLSID_CLRRuntimeHost, &IID_ICLRRuntimeHost, (void **)out);
    }
    if (info)
        ICLRRuntimeInfo_Release(info);
    if (meta)
        ICLRMetaHost_Release(meta);
    if (SUCCEEDED(hr) && *out)
        return S_OK;

    /* The .NET 2.0-3.5 entry point: version, build flavor, startup flags. */
    if ((bind = (HT_CORBINDTORUNTIMEEX)(void (*)(void))GetProcAddress(mscoree, "CorBindToRuntimeEx")))
    {
        fallback = bind(CLR_VERSION, L"wks", 0, &CLSID_CLRRuntimeHost, &IID_ICLRRuntimeHost, (void **)out);
        if (SUCCEEDED(fallback) && *out)
            return S_OK;
        *out = NULL;
    }
    return FAILED(hr) ? hr : E_NOINTERFACE;
}

static HRESULT create_host_control(const struct options *o, IHostControl **control)
{
    CLSID clsid;
    HRESULT hr;

    if (o->dll)
        return ht_create_host_control_from(o->dll, control);
    if (FAILED(hr = CLSIDFromProgID(L"HostTask.HostControl", &clsid)))
        return hr;
    return CoCreateInstance(&clsid, NULL, CLSCTX_INPROC_SERVER, &IID_IHostControl, (void **)control);
}

static double now_ms(void)
{
    LARGE_INTEGER frequency, counter;

    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&counter);
    return (double)counter.QuadPart * 1000.0 / (double)frequency.QuadPart;
}

int wmain(int argc, WCHAR **argv)
{
    struct report report;
    struct options o;
    ICLRRuntimeHost *runtime = NULL;
    IHostControl *control = NULL;
    struct htd_runtime *simulated;
    char server[MAX_PATH + 16], text[512];
    const char *step = "";
    DWORD value = 0;
    double start;
    int code;
    HRESULT hr;

    if ((code = parse_options(argc, argv, &o)))
        return code;
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    CoInitializeEx(NULL, COINIT_MULTITHREADED);

    /* The runtime: only where the ICLRRuntimeHost comes from differs. */
    if (o.simulate)
        hr = htd_runtime_create(&o.driver, &runtime);
    else if (FAILED(hr = bind_clr(&runtime, &step)))
    {
        describe_hresult(hr, text, sizeof(text));
        fprintf(stderr, "hosttask-host: no .NET Framework 4 runtime could be bound: %s (%s); "
                "run with --simulate to drive hosttask with the CLR-style driver instead\n", step, text);
        CoUninitialize();
        return EXIT_NO_RUNTIME;
    }
    if (FAILED(hr))
    {
        CoUninitialize();
        return EXIT_NO_RUNTIME;
    }

    /* hosttask's host control: registered, or straight from a DLL. */
    if (FAILED(hr = create_host_control(&o, &control)))
    {
        describe_hresult(hr, text, sizeof(text));
        if (o.dll)
            fprintf(stderr, "hosttask-host: no host control from %ls (%s)\n", o.dll, text);
        else
            fprintf(stderr, "hosttask-host: HostTask.HostControl is not available (%s); register it with "
                    "regsvr32 hosttask.dll, or name the DLL with --dll PATH\n", text);
        ICLRRuntimeHost_Release(runtime);
        CoUninitialize();
        return EXIT_NO_HOST;
    }
    if (o.dll)
        snprintf(server, sizeof(server), "%ls (registration-free)", o.dll);
    else
        snprintf(server, sizeof(server), "HostTask.HostControl (registered)");
    if (FAILED(hr = ht_set_profiling(control, o.profiling)))
    {
        describe_hresult(hr, text, sizeof(text));
        fprintf(stderr, "hosttask-host: warning: profiling could not be set (%s)\n", text);
        o.profiling = FALSE;
    }

    /* The scheduler, like every setting, before the runtime sees the host. */
    if (o.scheduler && FAILED(hr = ht_set_scheduler(control, o.slots, o.quantum_us)))
    {
        describe_hresult(hr, text, sizeof(text));
        fprintf(stderr, "hosttask-host: the server refused --scheduler (%s)%s\n", text,
                hr == E_INVALIDARG ? ": at most 1024 slots and a quantum of 10 s" : "");
        ICLRRuntimeHost_Release(runtime);
        IHostControl_Release(control);
        CoUninitialize();
        return hr == E_INVALIDARG ? EXIT_USAGE : EXIT_NO_HOST;
    }

    /* The timeline from the first task on. */
    if ((o.trace || o.html) && FAILED(hr = ht_set_trace_buffer(control, TRACE_DEFAULT_BUFFER)))
    {
        describe_hresult(hr, text, sizeof(text));
        fprintf(stderr, "hosttask-host: warning: tracing could not be turned on (%s)\n", text);
    }

    /* Before Start: afterwards the CLR answers E_ACCESSDENIED. */
    if (FAILED(hr = ICLRRuntimeHost_SetHostControl(runtime, control)))
    {
        describe_hresult(hr, text, sizeof(text));
        fprintf(stderr, "hosttask-host: the runtime refused the host control: "
                "ICLRRuntimeHost::SetHostControl returned %s%s; run with --simulate to drive hosttask with "
                "the CLR-style driver instead\n", text,
                hr == E_NOTIMPL ? " (Wine's Mono-based mscoree does not support task hosting)" : "");
        ICLRRuntimeHost_Release(runtime);
        IHostControl_Release(control);
        CoUninitialize();
        return EXIT_NO_RUNTIME;
    }
    if (FAILED(hr = ICLRRuntimeHost_Start(runtime)))
    {
        describe_hresult(hr, text, sizeof(text));
        fprintf(stderr, "hosttask-host: the runtime did not start: ICLRRuntimeHost::Start returned %s\n", text);
        ICLRRuntimeHost_Release(runtime);
        IHostControl_Release(control);
        CoUninitialize();
        return EXIT_NO_RUNTIME;
    }

    start = now_ms();
    hr = ICLRRuntimeHost_ExecuteInDefaultAppDomain(runtime, o.assembly, o.type, o.method, o.argument, &value);

    memset(&report, 0, sizeof(report));
    report.wall_ms = now_ms() - start;
    report.simulated = o.simulate;
    report.pinvoke_style = o.driver.style == HTD_PINVOKE_X86 ? "x86" : "x64";
    report.clr_version = o.simulate ? "simulated" : "v4.0.30319";
    report.server = server;
    report.profiling = o.profiling;
    lstrcpynW(report.assembly, o.assembly, ARRAYSIZE(report.assembly));
    lstrcpynW(report.type, o.type, ARRAYSIZE(report.type));
    lstrcpynW(report.method, o.method, ARRAYSIZE(report.method));
    if ((report.has_argument = o.argument != NULL))
        lstrcpynW(report.argument, o.argument, ARRAYSIZE(report.argument));
    report.execute_hr = hr;
    report.return_value = value;

    /* The statistics while every task is still known: the runtime releases
     * its tasks when it stops. */
    if ((simulated = htd_runtime_from(runtime)))
        report_note_driver(&report, simulated);
    if (FAILED(hr = report_collect(&report, control)))
    {
        describe_hresult(hr, text, sizeof(text));
        fprintf(stderr, "hosttask-host: warning: no statistics (%s)\n", text);
    }
    if ((simulated = htd_runtime_from(runtime)))
        report_check(&report, simulated);

    if (FAILED(report.execute_hr))
        code = EXIT_EXECUTE_FAILED;
    else if (report.checked && report.mismatch_count)
        code = EXIT_CHECK_FAILED;
    else
        code = (int)value;

    report_print(&report, stdout, o.top);
    if (o.trace || o.html)
    {
        switch (trace_output(&report, control, simulated, o.trace, o.html, stdout))
        {
        case 2:
            if (!FAILED(report.execute_hr))
                code = EXIT_CHECK_FAILED;
            break;
        case 1:
            if (!code)
                code = EXIT_USAGE;
            break;
        }
    }
    if (FAILED(report.execute_hr))
    {
        describe_hresult(report.execute_hr, text, sizeof(text));
        printf("ExecuteInDefaultAppDomain failed: %s\n", text);
    }
    if (o.json && !report_write_json(&report, o.json, code))
    {
        fprintf(stderr, "hosttask-host: could not write %ls\n", o.json);
        if (!code)
            code = EXIT_USAGE;
    }
    printf("\n");
    report_print_summary(&report, stdout, code);
    fflush(stdout);

    /* Stop releases the host control the runtime kept. */
    ICLRRuntimeHost_Stop(runtime);
    ICLRRuntimeHost_Release(runtime);
    IHostControl_Release(control);
    report_free(&report);
    CoUninitialize();
    return code;
}
