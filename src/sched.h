#ifndef OUTBOX_sched_H
#define OUTBOX_sched_H
#endif
