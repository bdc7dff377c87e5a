/*
 * The memory measurement: heap, committed memory and handles per task,
 * hosttask against plain Win32 threads (bench/bench.h).
 */
#include "bench.h"

/* ---- Memory ----
 *
 * Host state per task = what the process's heaps hold with N live hosttask
 * tasks, minus what they hold with N live plain Win32 threads running the
 * same routine with the same stack, over N.  The threads themselves
 * (stacks, TEBs, Wine's per-thread data) are in both and cancel out;
 * the thread's handle is in both too.  Kernel objects (hosttask's
 * per-task alert event) live in wineserver, not in the process: they are
 * reported as handles. */

struct heap_block
{
    void *data;
    SIZE_T size;
};

struct memory_snapshot
{
    SIZE_T heap_busy;         /* every busy heap block, data plus the allocator's overhead */
    SIZE_T heap_committed;    /* committed bytes of the heaps' regions */
    SIZE_T private_committed; /* MEM_PRIVATE, MEM_COMMIT address space */
    DWORD handles;
    struct heap_block *blocks;
    SIZE_T nblocks, capacity;
};

static void memory_snapshot(struct memory_snapshot *m)
{
    MEMORY_BASIC_INFORMATION info;
    PROCESS_HEAP_ENTRY entry;
    HANDLE heaps[256];
    DWORD nheaps, h;
    char *p = NULL;

    m->heap_busy = m->heap_committed = m->private_committed = 0;
    m->nblocks = 0;
    while (VirtualQuery(p, &info, sizeof(info)) == sizeof(info))
    {
        if (info.State == MEM_COMMIT && info.Type == MEM_PRIVATE)
            m->private_committed += info.RegionSize;
        p = (char *)info.BaseAddress + info.RegionSize;
        if (!info.RegionSize)
            break;
    }
    m->handles = ht_handle_count();
    nheaps = GetProcessHeaps(ARRAYSIZE(heaps), heaps);
    for (h = 0; h < nheaps && h < ARRAYSIZE(heaps); h++)
    {
        if (!HeapLock(heaps[h]))
            continue;
        entry.lpData = NULL;
        while (HeapWalk(heaps[h], &entry))
        {
            if (entry.wFlags & PROCESS_HEAP_REGION)
                m->heap_committed += entry.Region.dwCommittedSize;
            else if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY)
            {
                m->heap_busy += entry.cbData + entry.cbOverhead;
                if (m->nblocks < m->capacity)
                {
                    m->blocks[m->nblocks].data = entry.lpData;
                    m->blocks[m->nblocks].size = entry.cbData;
                    m->nblocks++;
                }
            }
        }
        HeapUnlock(heaps[h]);
    }
}

static int compare_block(const void *a, const void *b)
{
    const struct heap_block *x = a, *y = b;

    return x->data < y->data ? -1 : x->data > y->data;
}

static int compare_size(const void *a, const void *b)
{
    SIZE_T x = *(const SIZE_T *)a, y = *(const SIZE_T *)b;

    return x < y ? -1 : x > y;
}

/* Sorts the blocks of after that are not in before by size, into the spare
 * half of after's buffer; returns how many. */
static SIZE_T new_blocks(struct memory_snapshot *before, struct memory_snapshot *after, SIZE_T **sizes)
{
    SIZE_T i, j = 0, n = 0, *fresh = (SIZE_T *)(after->blocks + after->nblocks);

    *sizes = fresh;
    if (after->nblocks > after->capacity / 2)
        return 0;
    qsort(before->blocks, before->nblocks, sizeof(*before->blocks), compare_block);
    qsort(after->blocks, after->nblocks, sizeof(*after->blocks), compare_block);
    for (i = 0; i < after->nblocks; i++)
    {
        while (j < before->nblocks && before->blocks[j].data < after->blocks[i].data)
            j++;
        if (j < before->nblocks && before->blocks[j].data == after->blocks[i].data
                && before->blocks[j].size == after->blocks[i].size)
            continue;
        fresh[n++] = after->blocks[i].size;
    }
    qsort(fresh, n, sizeof(*fresh), compare_size);
    return n;
}

static SIZE_T count_size(const SIZE_T *sizes, SIZE_T n, SIZE_T size)
{
    SIZE_T count = 0, i;

    for (i = 0; i < n; i++)
        count += sizes[i] == size;
    return count;
}

/* The block size whose count grew most from the plain threads' round to
 * hosttask's: the size of one task's allocation, if each allocates one. */
static SIZE_T task_block_size(struct memory_snapshot *ht_before, struct memory_snapshot *ht_during,
        struct memory_snapshot *win_before, struct memory_snapshot *win_during, SIZE_T *count)
{
    SIZE_T *ht_sizes, *win_sizes, nht, nwin, i, k, run, best = 0, best_extra = 0, extra;

    nht = new_blocks(ht_before, ht_during, &ht_sizes);
    nwin = new_blocks(win_before, win_during, &win_sizes);
    *count = 0;
    for (i = 0; i < nht; i = k)
    {
        for (k = i, run = 0; k < nht && ht_sizes[k] == ht_sizes[i]; k++)
            run++;
        extra = run - (run < count_size(win_sizes, nwin, ht_sizes[i]) ? run : count_size(win_sizes, nwin, ht_sizes[i]));
        if (extra > best_extra)
        {
            best_extra = extra;
            best = ht_sizes[i];
        }
    }
    *count = best_extra;
    return best;
}

struct live_context
{
    HANDLE hold;              /* manual reset: set when the tasks may end */
    HANDLE all_running;       /* set by the last task to start */
    LONG running, target;
};

static DWORD WINAPI live_routine(void *arg)
{
    struct live_context *ctx = arg;

    if (InterlockedIncrement(&ctx->running) == ctx->target)
        SetEvent(ctx->all_running);
    WaitForSingleObject(ctx->hold, INFINITE);
    return 0;
}

enum memory_mode
{
    /* N tasks whose threads all run (blocked in their routine). */
    TASKS_RUNNING,
    /* N tasks started and joined one after the other, each still
     * referenced, as the CLR keeps an IHostTask until its Thread object
     * dies; plain threads likewise ended, their handles kept open. */
    TASKS_ENDED
};

enum round_status
{
    ROUND_OK,
    ROUND_NO_RESOURCES,       /* a thread could not be created: retry with fewer */
    ROUND_FAILED
};

struct memory_result
{
    struct memory_snapshot before, during, after;
    ULONG live_tasks;
};

static enum round_status memory_round(BOOL use_hosttask, enum memory_mode mode, LONG n,
        struct memory_result *r)
{
    enum round_status status = ROUND_FAILED;
    struct live_context ctx;
    IHostTaskStatistics *statistics;
    IHostTask **tasks = NULL;
    HANDLE *threads = NULL;
    ULONG bound_only;
    LONG i, created = 0;
    HRESULT hr;

    r->live_tasks = 0;
    ctx.running = 0;
    ctx.target = n;
    ctx.hold = CreateEventW(NULL, TRUE, FALSE, NULL);
    ctx.all_running = CreateEventW(NULL, TRUE, FALSE, NULL);
    /* Allocated before the first snapshot, so that they are in every one. */
    if (use_hosttask)
        tasks = calloc(n, sizeof(*tasks));
    else
        threads = calloc(n, sizeof(*threads));
    if (!ctx.hold || !ctx.all_running || (!tasks && !threads))
    {
        fail("memory: out of resources before starting");
        goto done;
    }

    memory_snapshot(&r->before);
    status = ROUND_OK;
    for (i = 0; i < n; i++)
    {
        if (use_hosttask)
        {
            if ((hr = IHostTaskManager_CreateTask(hosttask, TASK_STACK,
                    mode == TASKS_RUNNING ? live_routine : empty_routine, &ctx, &tasks[i])) != S_OK)
            {
                status = ROUND_NO_RESOURCES;
                break;
            }
            created++;
            if ((hr = IHostTask_Start(tasks[i])) != S_OK)
            {
                fail("memory: Start %ld: 0x%08lx", i + 1, (unsigned long)hr);
                status = ROUND_FAILED;
                break;
            }
            if (mode == TASKS_ENDED && (hr = IHostTask_Join(tasks[i], INFINITE, 0)) != S_OK)
            {
                fail("memory: Join %ld: 0x%08lx", i + 1, (unsigned long)hr);
                status = ROUND_FAILED;
                break;
            }
        }
        else
        {
            if (!(threads[i] = CreateThread(NULL, TASK_STACK, mode == TASKS_RUNNING ? live_routine : empty_routine,
                    &ctx, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL)))
            {
                status = ROUND_NO_RESOURCES;
                break;
            }
            created++;
            if (mode == TASKS_ENDED && WaitForSingleObject(threads[i], INFINITE) != WAIT_OBJECT_0)
            {
                fail("memory: WaitForSingleObject %ld: %lu", i + 1, GetLastError());
                status = ROUND_FAILED;
                break;
            }
        }
    }
    if (status == ROUND_OK && mode == TASKS_RUNNING && WaitForSingleObject(ctx.all_running, 300000) != WAIT_OBJECT_0)
    {
        fail("memory: the tasks did not all start");
        status = ROUND_FAILED;
    }
    if (status == ROUND_OK)
    {
        memory_snapshot(&r->during);
        if (use_hosttask && SUCCEEDED(ht_get_manager_interface(control, &IID_IHostTaskStatistics,
                (void **)&statistics)))
        {
            IHostTaskStatistics_GetObjectCounts(statistics, &r->live_tasks, &bound_only);
            IHostTaskStatistics_Release(statistics);
        }
    }

    SetEvent(ctx.hold);
    for (i = 0; i < created; i++)
    {
        if (use_hosttask)
        {
            if ((hr = IHostTask_Join(tasks[i], INFINITE, 0)) != S_OK)
                fail("memory: Join: 0x%08lx", (unsigned long)hr);
            IHostTask_Release(tasks[i]);
        }
        else
        {
            WaitForSingleObject(threads[i], INFINITE);
            CloseHandle(threads[i]);
        }
    }
    memory_snapshot(&r->after);
done:
    free(tasks);
    free(threads);
    if (ctx.hold)
        CloseHandle(ctx.hold);
    if (ctx.all_running)
        CloseHandle(ctx.all_running);
    return status;
}

/* Wine gives every thread about four file descriptors (its pipes to
 * wineserver), so RLIMIT_NOFILE caps the threads a process can have.
 * Returns the soft limit, or 0 when it cannot be read (not Wine). */
static long open_files_limit(void)
{
    char line[256];
    long limit = 0;
    FILE *f = fopen("Z:\\proc\\self\\limits", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "Max open files", 14))
            limit = strtol(line + 14, NULL, 10);
    fclose(f);
    return limit;
}

struct memory_figures
{
    struct series *heap, *heap_ht, *heap_win, *committed, *committed_ht, *committed_win, *handles, *leak;
    SIZE_T block_size, block_count;
    LONG n;
};

static double per_task(SIZE_T during, SIZE_T before, LONG n)
{
    return ((double)during - (double)before) / (double)n;
}

static void memory_figures_init(struct memory_figures *f, const char *mode)
{
    static char names[2][8][64];
    static int used;
    char (*name)[64] = names[used++ % 2];

    snprintf(name[0], 64, "memory.%s.heap_bytes_per_task", mode);
    snprintf(name[1], 64, "memory.%s.hosttask.heap_bytes_per_task", mode);
    snprintf(name[2], 64, "memory.%s.win32.heap_bytes_per_thread", mode);
    snprintf(name[3], 64, "memory.%s.private_committed_per_task", mode);
    snprintf(name[4], 64, "memory.%s.hosttask.private_committed_per_task", mode);
    snprintf(name[5], 64, "memory.%s.win32.private_committed_per_thread", mode);
    snprintf(name[6], 64, "memory.%s.handles_per_task", mode);
    snprintf(name[7], 64, "memory.%s.heap_bytes_left_per_task", mode);
    f->heap = series_new(name[0], "bytes");
    f->heap_ht = series_new(name[1], "bytes");
    f->heap_win = series_new(name[2], "bytes");
    f->committed = series_new(name[3], "bytes");
    f->committed_ht = series_new(name[4], "bytes");
    f->committed_win = series_new(name[5], "bytes");
    f->handles = series_new(name[6], "handles");
    f->leak = series_new(name[7], "bytes");
    f->block_size = f->block_count = 0;
    f->n = 0;
}

/* Warm-up and repetitions of one mode with n tasks; ROUND_NO_RESOURCES if
 * n threads cannot all exist at once. */
static enum round_status memory_rounds(enum memory_mode mode, LONG n, struct memory_figures *f,
        struct memory_result *ht, struct memory_result *win)
{
    enum round_status status;
    int rep;

    f->n = n;
    /* Round -1 warms up: the first N threads of a process commit more
     * (Wine grows internal tables once), which would be charged to
     * whichever variant came first. */
    for (rep = -1; rep < opt.memory_reps; rep++)
    {
        /* Alternate which goes first: Wine frees an ended thread's stack
         * lazily, so a round may see some of the previous round's go. */
        if (rep % 2)
        {
            if ((status = memory_round(TRUE, mode, n, ht)) == ROUND_OK)
                status = memory_round(FALSE, mode, n, win);
        }
        else if ((status = memory_round(FALSE, mode, n, win)) == ROUND_OK)
            status = memory_round(TRUE, mode, n, ht);
        if (status != ROUND_OK)
            return status;
        if (rep < 0)
            continue;
        series_add(f->heap_ht, per_task(ht->during.heap_busy, ht->before.heap_busy, n));
        series_add(f->heap_win, per_task(win->during.heap_busy, win->before.heap_busy, n));
        series_add(f->heap, per_task(ht->during.heap_busy, ht->before.heap_busy, n)
                - per_task(win->during.heap_busy, win->before.heap_busy, n));
        series_add(f->committed_ht, per_task(ht->during.private_committed, ht->before.private_committed, n));
        series_add(f->committed_win, per_task(win->during.private_committed, win->before.private_committed, n));
        series_add(f->committed, per_task(ht->during.private_committed, ht->before.private_committed, n)
                - per_task(win->during.private_committed, win->before.private_committed, n));
        if (ht->during.handles != MAXDWORD && ht->before.handles != MAXDWORD
                && win->during.handles != MAXDWORD && win->before.handles != MAXDWORD)
            series_add(f->handles, per_task(ht->during.handles, ht->before.handles, n)
                    - per_task(win->during.handles, win->before.handles, n));
        series_add(f->leak, per_task(ht->after.heap_busy, ht->before.heap_busy, n));
        f->block_size = task_block_size(&ht->before, &ht->during, &win->before, &win->during, &f->block_count);
        if (ht->live_tasks < (ULONG)n)
            fail("memory: %lu live tasks, expected at least %ld", ht->live_tasks, n);
    }
    f->heap->iterations = f->heap_ht->iterations = f->heap_win->iterations = n;
    f->committed->iterations = f->committed_ht->iterations = f->committed_win->iterations = n;
    f->handles->iterations = f->leak->iterations = n;
    return ROUND_OK;
}

void measure_memory(void)
{
    struct memory_figures ended, running;
    struct memory_result *ht, *win;
    struct heap_block *buffers;
    SIZE_T capacity = 4 * ((SIZE_T)opt.tasks + 65536);
    long limit = open_files_limit();
    enum round_status status;
    char what[80];
    struct row *r;
    LONG n;
    int i;

    memory_figures_init(&ended, "ended");
    memory_figures_init(&running, "running");
    ht = calloc(1, sizeof(*ht));
    win = calloc(1, sizeof(*win));
    /* Outside every heap, so the walks do not count their own buffers. */
    buffers = VirtualAlloc(NULL, 6 * capacity * sizeof(*buffers), MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    /* Room for every handle on the machine, a few times over. */
    if (!ht || !win || !buffers || !ht_handle_buffer_reserve(16 * ((SIZE_T)opt.tasks + 65536)))
    {
        fail("memory: no buffers");
        return;
    }
    {
        struct memory_snapshot *s[6] = { &ht->before, &ht->during, &ht->after,
                                         &win->before, &win->during, &win->after };

        for (i = 0; i < 6; i++)
        {
            s[i]->blocks = buffers + i * capacity;
            s[i]->capacity = capacity;
        }
    }

    /* 10,000 task objects alive at once, their threads run one at a time:
     * possible under any descriptor limit. */
    if (memory_rounds(TASKS_ENDED, opt.tasks, &ended, ht, win) != ROUND_OK)
        fail("memory: %ld tasks with ended threads could not be created", opt.tasks);

    /* As many running threads as Wine's descriptors allow, up to the same
     * number: the first try stays under the limit, halving after that. */
    n = opt.tasks;
    if (limit > 0 && n > (limit - 1000) / 4 * 9 / 10)
        n = (LONG)((limit - 1000) / 4 * 9 / 10);
    for (; n >= 50; n /= 2)
        if ((status = memory_rounds(TASKS_RUNNING, n, &running, ht, win)) != ROUND_NO_RESOURCES)
            break;
    if (n < opt.tasks)
        printf("memory: %ld threads at once is as many as this process may have (%ld open files; Wine "
               "takes about 4 per thread): running tasks measured with %ld\n", (long)opt.tasks, limit, (long)n);

    snprintf(what, sizeof(what), "host state/task, heap: %ld tasks, threads ended", (long)ended.n);
    r = add_row("6", what, median(ended.heap), "bytes");
    r->spread = spread(ended.heap);
    r->judged = r->value;
    row_target(r, "<=", 256);
    snprintf(what, sizeof(what), "host state/task, heap: %ld tasks, threads running", (long)running.n);
    r = add_row("6", what, median(running.heap), "bytes");
    r->spread = spread(running.heap);
    r->judged = r->value;
    row_target(r, "<=", 256);
    r = add_row("6", "  heap growth per hosttask task, running", median(running.heap_ht), "bytes");
    row_reference(r, "per plain thread, running", median(running.heap_win), NAN, NULL);
    snprintf(what, sizeof(what), "  extra heap blocks of one size: %lu of", (unsigned long)running.block_count);
    add_row("6", what, (double)running.block_size, "bytes");
    add_row("6", "  sizeof(struct host_task), com/private.h", (double)bench_sizeof_host_task(), "bytes");
    add_row("6", "  sizeof(struct ht__nest), src/core.h, in it", (double)bench_sizeof_core_task(), "bytes");
    r = add_row("6", "  private committed per task, beyond a thread", median(running.committed), "bytes");
    r->spread = spread(running.committed);
    r = add_row("6", "  private committed per hosttask task", median(running.committed_ht), "bytes");
    row_reference(r, "per plain thread, running", median(running.committed_win), NAN, NULL);
    add_row("6", "  kernel handles per task, beyond a thread", median(running.handles), "handles");
    add_row("6", "  heap still held per task after Release", median(running.leak), "bytes");
    VirtualFree(buffers, 0, MEM_RELEASE);
    ht_handle_buffer_free();
    free(ht);
    free(win);
}

/* Whether --only selected this part (every part without --only). */
