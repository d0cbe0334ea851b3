/* The core's request flow (consent_flow.h) in httpd, shared by the
 * handler and guard mode's hook. */
#ifndef CONSENT_HANDLER_H
#define CONSENT_HANDLER_H

#include "mod_consent.h"
#include "consent_flow.h"

/* conf as the core wants it, with the serving server's site and keys. */
consent_flow_conf_t *consent_request_conf(request_rec *r,
                                          const consent_dir_conf *conf);

/* The flow of r at conf's location (guard: guard mode's). */
consent_flow_t *consent_request_flow(request_rec *r,
                                     const consent_dir_conf *conf,
                                     int guard);

/* Reads the body and runs the store call when the flow asks: OK, or
 * the status of a body that cannot be read. */
int consent_request_advance(request_rec *r, consent_flow_t *f);

/* The flow's log lines, with their CONSENT#### numbers. */
void consent_log_flow(request_rec *r, const consent_flow_t *f);

/* Logs, then sends f's answer: the handler's result. */
int consent_send_answer(request_rec *r, consent_flow_t *f);

#endif
