#ifndef OUTBOX_deliver_H
#define OUTBOX_deliver_H
#endif
