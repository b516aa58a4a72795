#ifndef OUTBOX_cmd_H
#define OUTBOX_cmd_H
#endif
