#ifndef OUTBOX_conn_H
#define OUTBOX_conn_H
#endif
