/*
 * The lines a guarded page leaves in the log (consent_guard_log.h).
 */
#include <apr_strings.h>

#include "consent_guard_log.h"

static void add(apr_array_header_t *logs, consent_log_level_t level,
                int id, const char *text)
{
    consent_log_line_t *l = apr_array_push(logs);

    l->level = level;
    l->id = id;
    l->text = text;
}

void consent_guard_log_report(const consent_guard_t *guard, const char *uri,
                              const consent_conf_names_t *names,
                              apr_array_header_t *logs, apr_pool_t *p)
{
    const consent_guard_report_t *rep = consent_guard_report(guard);
    const char *g = names->guard;

    if (rep->fixed) {
        add(logs, CONSENT_LOG_WARNING, 503, apr_psprintf(
            p, "%s: un-ticked %d pre-ticked box(es) in %s", names->guard_fix,
            rep->fixed, uri));
    }
    if (rep->ticked) {
        add(logs, CONSENT_LOG_WARNING, 504, apr_psprintf(
            p, "%s: %s renders %d guarded box(es) ticked by default: its "
            "submissions are refused (422) until the application is fixed "
            "or %s is %s", g, uri, rep->ticked, names->guard_fix,
            names->on));
    }
    if (rep->unsure) {
        add(logs, CONSENT_LOG_WARNING, 505, apr_psprintf(
            p, "%s: %s could not be read with certainty (%d time(s): the "
            "page ends inside a tag, a guarded name is spelled with a "
            "character reference the guard does not decode, or the guard "
            "gave up): every purpose recorded ticked (422) or forms left "
            "without a token (403)", g, uri, rep->unsure));
    }
    if (rep->too_wide) {
        add(logs, CONSENT_LOG_WARNING, 509, apr_psprintf(
            p, "%s: %d form(s) of %s left without a token: the page "
            "reaches more than %d bytes past the first token (held until "
            "the page ends)", g, rep->too_wide, uri,
            CONSENT_GUARD_DEFAULT_HOLD));
    }
    if (rep->gave_up) {
        add(logs, CONSENT_LOG_WARNING, 506, apr_psprintf(
            p, "%s: rest of %s passed on untouched: %s", g, uri,
            rep->gave_up));
    }
    add(logs, CONSENT_LOG_DEBUG, 507, apr_psprintf(
        p, "%s: %d token(s) added to %s", g, rep->forms, uri));
}
