/*
 * bench_peer.dll: the floor and baseline objects of the benchmark (see
 * peer.c).  Both are static objects; AddRef and Release do nothing.
 */
#ifndef HOSTTASK_BENCH_PEER_H
#define HOSTTASK_BENCH_PEER_H

#include "mscoree_tasks.h"

/* Every method empty: the cost of a call through the vtable. */
IHostTaskManager *bench_peer_floor(void);
/* Transitions tracked in a thread-id map under one CRITICAL_SECTION. */
IHostTaskManager *bench_peer_baseline(void);

#endif /* HOSTTASK_BENCH_PEER_H */
