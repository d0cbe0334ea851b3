/* Guard mode's core: the page inspection and the submission translation
 * (consent_guard.c, consent_guard_scan.c, consent_guard_tag.c,
 * consent_guard_fields.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "consent_guard.h"
#include "consent_guard_log.h"
#include "consent_guard_scan.h"
#include "consent_notice.h"

static apr_pool_t *pool;
static consent_form_t *form;
static consent_keyring_t *ring;

#define TOKEN_INPUT "<input type=\"hidden\" name=\"consent_token\" value=\""

typedef struct {
    char *buf;
    apr_size_t len, cap;
    int writes;
} sink_t;

static apr_status_t sink_write(void *baton, const char *data, apr_size_t len)
{
    sink_t *s = baton;

    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
    s->writes++;
    return APR_SUCCESS;
}

/* A fake signer: the token spells the facts, so the tests can read them. */
static apr_status_t fake_token(void *baton, const char *defaults,
                               const char **token)
{
    *token = apr_pstrcat(pool, "T", defaults, NULL);
    return APR_SUCCESS;
}

static consent_guard_opts_t opts_for(sink_t *s, int fix)
{
    consent_guard_opts_t o;

    memset(&o, 0, sizeof o);
    o.form = form;
    o.fix = fix;
    o.token = fake_token;
    o.write = sink_write;
    o.write_baton = s;
    return o;
}

/* The page through the guard, cut in 40 different ways: the output must
 * not depend on where the cuts fall. */
static char *guard(const char *html, apr_size_t len, int fix,
                   consent_guard_report_t *report)
{
    char *first = NULL;
    apr_size_t first_len = 0;
    unsigned seed;

    for (seed = 0; seed < 40; ++seed) {
        sink_t s = { NULL, 0, 0, 0 };
        consent_guard_opts_t o = opts_for(&s, fix);
        consent_guard_t *g;
        apr_size_t i, n;

        assert_int_equal(consent_guard_open(&g, &o, pool), APR_SUCCESS);
        for (i = 0; i < len; i += n) {
            n = seed == 0 ? len : 1 + (i * 7 + seed * 13) % (seed + 1);
            n = n < len - i ? n : len - i;
            assert_int_equal(consent_guard_push(g, html + i, n),
                             APR_SUCCESS);
        }
        assert_int_equal(consent_guard_finish(g), APR_SUCCESS);
        if (!s.buf) {
            s.buf = strdup("");
        }
        if (!first) {
            first = apr_pmemdup(pool, s.buf, s.len + 1);
            first_len = s.len;
            *report = *consent_guard_report(g);
        }
        else {
            assert_int_equal(s.len, first_len);
            assert_memory_equal(s.buf, first, s.len);
        }
        free(s.buf);
    }
    return first;
}

static char *guarded(const char *html, int fix)
{
    consent_guard_report_t r;

    return guard(html, strlen(html), fix, &r);
}

static void untouched_without_guarded_boxes(void **state)
{
    static const char *const pages[] = {
        "",
        "<p>no form at all</p>",
        "<form><input type=checkbox name=other checked></form>",
        "<input type=checkbox name=optin_newsletter>",
        "<!-- <form><input name=optin_newsletter type=checkbox> -->",
        "<form><textarea><input type=checkbox name=optin_newsletter>"
        "</textarea></form>",
        "<script>'<form><input name=optin_newsletter>'</script>",
        "<<<>>><form <input \"'></form",
        NULL
    };
    int i;

    for (i = 0; pages[i]; ++i) {
        assert_string_equal(guarded(pages[i], 0), pages[i]);
        assert_string_equal(guarded(pages[i], 1), pages[i]);
    }
}

static void token_after_first_box(void **state)
{
    assert_string_equal(guarded(
        "<form method=post><p><input type=checkbox name=optin_newsletter>"
        "<input type=checkbox name=optin_partners checked></form>", 0),
        "<form method=post><p><input type=checkbox name=optin_newsletter>"
        TOKEN_INPUT "T01\"><input type=checkbox name=optin_partners "
        "checked></form>");
}

static void several_forms_each_their_token(void **state)
{
    consent_guard_report_t r;
    const char *page =
        "<form id=a><input type=checkbox name=optin_partners></form>"
        "<form id=b><input name=q></form>"
        "<form id=c><input type='checkbox' name='optin_newsletter' "
        "checked='checked' /></form>";
    char *out = guard(page, strlen(page), 0, &r);

    assert_string_equal(out,
        "<form id=a><input type=checkbox name=optin_partners>"
        TOKEN_INPUT "T10\"></form><form id=b><input name=q></form>"
        "<form id=c><input type='checkbox' name='optin_newsletter' "
        "checked='checked' />" TOKEN_INPUT "T10\"></form>");
    assert_int_equal(r.forms, 2);
    assert_int_equal(r.ticked, 1);
    assert_null(r.gave_up);
}

static void fix_cuts_checked_only(void **state)
{
    consent_guard_report_t r;
    const char *page =
        "<form><input type=checkbox CHECKED name=optin_newsletter>"
        "<input type=checkbox name=optin_partners checked=\"checked\"/>"
        "<input type=checkbox name=other checked></form>";
    char *out = guard(page, strlen(page), 1, &r);

    assert_string_equal(out,
        "<form><input type=checkbox name=optin_newsletter>"
        TOKEN_INPUT "T00\"><input type=checkbox name=optin_partners />"
        "<input type=checkbox name=other checked></form>");
    assert_int_equal(r.fixed, 2);
    assert_int_equal(r.ticked, 0);
}

/* The log lines of a page (consent_guard_log.h), in the adapter's names,
 * with their numbers. */
static void report_lines(void **state)
{
    static const consent_conf_names_t names = {
        "nginx", "consent_form", "consent_guard", "consent_guard_fix", "on",
        "consent_mail_from", "consent_mail_command"
    };
    const char *page = "<form><input type=checkbox checked "
                       "name=optin_newsletter></form>";
    apr_array_header_t *logs = apr_array_make(pool, 4,
                                              sizeof(consent_log_line_t));
    sink_t s = { NULL, 0, 0, 0 };
    consent_guard_opts_t o = opts_for(&s, 0);
    const consent_log_line_t *l;
    consent_guard_t *g;

    assert_int_equal(consent_guard_open(&g, &o, pool), APR_SUCCESS);
    assert_int_equal(consent_guard_push(g, page, strlen(page)), APR_SUCCESS);
    assert_int_equal(consent_guard_finish(g), APR_SUCCESS);
    free(s.buf);
    consent_guard_log_report(g, "/p", &names, logs, pool);
    assert_int_equal(logs->nelts, 2);
    l = &APR_ARRAY_IDX(logs, 0, consent_log_line_t);
    assert_int_equal(l->id, 504);
    assert_int_equal(l->level, CONSENT_LOG_WARNING);
    assert_string_equal(l->text, "consent_guard: /p renders 1 guarded "
                        "box(es) ticked by default: its submissions are "
                        "refused (422) until the application is fixed or "
                        "consent_guard_fix is on");
    l = &APR_ARRAY_IDX(logs, 1, consent_log_line_t);
    assert_int_equal(l->id, 507);
    assert_int_equal(l->level, CONSENT_LOG_DEBUG);
    assert_string_equal(l->text, "consent_guard: 1 token(s) added to /p");
}

/* A hidden input sends the name without an act, whatever its value: the
 * "0 unless ticked" idiom included (a backend may read "0" as set, and
 * the submission half counts any value). */
static void hidden_consent_counts_as_ticked(void **state)
{
    assert_string_equal(guarded(
        "<form><input type=hidden name=optin_newsletter value=1></form>", 1),
        "<form><input type=hidden name=optin_newsletter value=1>"
        TOKEN_INPUT "T1-\"></form>");
    assert_string_equal(guarded(
        "<form><input type=hidden name=optin_newsletter value=0>"
        "<input type=checkbox name=optin_newsletter value=1></form>", 1),
        "<form><input type=hidden name=optin_newsletter value=0>"
        TOKEN_INPUT "T1-\"><input type=checkbox name=optin_newsletter "
        "value=1></form>");
}

static void malformed_html(void **state)
{
    /* no </form>, unclosed elements, a '>' in a quoted value, a stray
     * "<", uppercase tags: the token still lands after the box */
    assert_string_equal(guarded(
        "<HTML><body><div><FORM><table><tr><td>a < b"
        "<INPUT title=\"x>y\" TYPE=checkbox NAME=optin_partners>"
        "<p>unclosed", 0),
        "<HTML><body><div><FORM><table><tr><td>a < b"
        "<INPUT title=\"x>y\" TYPE=checkbox NAME=optin_partners>"
        TOKEN_INPUT "T-0\"><p>unclosed");
}

/* A tag inside an attribute value is text to a browser, but markup to
 * whoever copies that value into the page: it counts, and fix mode,
 * which cannot edit it, leaves the purpose ticked. */
static void tag_in_an_attribute_counts(void **state)
{
    consent_guard_report_t r;
    const char *page = "<form><input type=checkbox checked "
        "name=optin_newsletter title='<input type=checkbox checked "
        "name=optin_newsletter title=x'></form>";
    char *out = guard(page, strlen(page), 1, &r);

    assert_string_equal(out, "<form><input type=checkbox "
        "name=optin_newsletter title='<input type=checkbox checked "
        "name=optin_newsletter title=x'>" TOKEN_INPUT "T1-\"></form>");
    assert_int_equal(r.fixed, 1);
    assert_int_equal(r.forms, 1);
}

/* What the page's tokens say, the page cut in 40 ways. */
static const char *facts_of(const char *html, int fix)
{
    consent_guard_report_t r;

    guard(html, strlen(html), fix, &r);
    assert_non_null(r.facts);
    return r.facts;
}

/* The examples of issue 11: where HTML 4 and HTML5 disagree about form
 * membership, the page's facts do not depend on it. */
static void form_membership_does_not_matter(void **state)
{
    const char *div = "<div><form method=post><input type=checkbox "
        "name=optin_newsletter></div><input type=checkbox "
        "name=optin_newsletter checked><button>Go</button></form>";
    const char *td = "<table><tr><td><form method=post><input "
        "type=checkbox name=optin_newsletter></td><td><input type=checkbox "
        "name=optin_newsletter checked></td></tr></table></form>";
    const char *attr = "<form id=f method=post><input type=checkbox "
        "name=optin_newsletter></form><input type=checkbox "
        "name=optin_partners form=f>";
    const char *button = "<form method=post><input type=checkbox "
        "name=optin_newsletter><button name=optin_partners value=1>Go"
        "</button></form>";

    assert_string_equal(facts_of(div, 0), "1-");
    assert_string_equal(facts_of(td, 0), "1-");
    /* a box bound by form="..." is ticked for the page, even unticked */
    assert_string_equal(facts_of(attr, 0), "01");
    assert_string_equal(facts_of(button, 0), "01");
    /* the token itself still goes into the form */
    assert_non_null(strstr(guarded(div, 0), "name=optin_newsletter>"
                           TOKEN_INPUT "T1-\""));
}

/* Everything that sends the name without a person acting. */
static void what_sends_the_name(void **state)
{
    static const struct {
        const char *html, *facts;
    } cases[] = {
        { "<input type=checkbox name=optin_newsletter>", "0-" },
        { "<input type=radio name=optin_newsletter>", "0-" },
        { "<input type=radio name=optin_newsletter value=no checked>", "1-" },
        { "<input name=optin_newsletter>", "1-" },
        { "<input type=text name=optin_newsletter value=''>", "1-" },
        { "<input type=hidden name=optin_newsletter value=0>", "1-" },
        { "<input type=submit name=optin_newsletter>", "1-" },
        { "<input type=image name=optin_newsletter>", "1-" },
        { "<input type=checkbx name=optin_newsletter>", "1-" },
        { "<input type=checkbox type=hidden name=optin_newsletter>", "1-" },
        { "<button name=optin_newsletter>Go</button>", "1-" },
        { "<select name=optin_newsletter><option>no</select>", "1-" },
        { "<textarea name=optin_newsletter></textarea>", "1-" },
        { "<textarea name=optin_newsletter>yes</textarea>", "1-" },
        { "<x-box name=optin_newsletter></x-box>", "1-" },
        { "<input name=q dirname=optin_newsletter>", "1-" },
        { "<input type=checkbox name=other name=optin_newsletter checked>",
          "1-" },
        { "<INPUT TYPE=CHECKBOX NAME=optin_newsletter CHECKED>", "1-" },
        { "<input/type=\"checkbox\"/name=\"optin_newsletter\"/checked>",
          "1-" },
        { "<input/name=optin_newsletter>", "1-" },
        { "<input type='checkbox' name='optin_newsletter'/>", "0-" },
        { "<input type=checkbox name=optin_newsletter/checked>", "--" },
        { "<input type=checkbox name=optin_newsletter checked=\"\">", "1-" },
        { "<input type=checkbox name=optin_newsletter\nchecked\n>", "1-" },
        { "<input type=check&#98;ox name=optin&#95;newsletter checked>",
          "1-" },
        { "<input type=checkbox name=optin&lowbar;newsletter checked>",
          "1-" },
        { "<input type=checkbox name=\"optin&#x5F;newsletter\">", "0-" },
        /* names PHP reads as the guarded one */
        { "<input type=checkbox name=optin.newsletter checked>", "1-" },
        { "<input type=checkbox name='optin_newsletter[]' checked>", "1-" },
        { "<input type=checkbox name='optin newsletter'>", "0-" },
        /* not a guarded element */
        { "<input type=checkbox name=optin_newsletterx checked>", "--" },
        { "<a name=optin_newsletter>x</a>", "--" },
        { "<input type=checkbox title=optin_newsletter checked>", "--" },
        { NULL, NULL }
    };
    int i;

    for (i = 0; cases[i].html; ++i) {
        const char *page = apr_pstrcat(pool, "<form method=post>",
                                       cases[i].html, "</form>", NULL);
        if (strcmp(facts_of(page, 0), cases[i].facts) != 0) {
            fail_msg("%s: %s, not %s", cases[i].html, facts_of(page, 0),
                     cases[i].facts);
        }
    }
}

/*
 * The class, not the examples: a ticking element in every context where
 * a browser might, or might not, see an element (the guard's rule: it
 * counts in all of them), with fix off and on.
 */
static void ticked_in_every_context(void **state)
{
    static const char *const contexts[] = {
        "", "<div><form>", "<table><tr><td><form>", "<form><table>",
        "<svg>", "<svg><foreignObject>", "<math><mi>", "<svg><style>",
        "<template>", "<form><template>", "<script>", "<script><!--",
        "<script><!--<script>", "<style>", "<textarea>", "<title>",
        "<noscript>", "<iframe>", "<xmp>", "<noembed>", "<noframes>",
        "<plaintext>", "<!-->", "<!--->", "<!-- -- -->", "<?php ",
        "<script><!--<script></script><!-- </script>",
        "<script><!--<script></script><!--",
        "</ x", "<!DOCTYPE html", "<![CDATA[", "<svg><![CDATA[",
        "<select>", "<a title='", "<a title=\"", "<a title=",
        "<object>", "<frameset>", "<a<", "</p title='", "<p",
        "<form><input name=q value='", "<!---->", "<script/>",
        "<math><annotation-xml encoding=text/html>", NULL
    };
    static const char *const elements[] = {
        "<input type=checkbox name=optin_newsletter checked>",
        "<input type=radio name=optin_newsletter checked=checked>",
        "<input type=hidden name=optin_newsletter value=1>",
        "<input name=optin_newsletter value=yes>",
        "<button name=optin_newsletter value=1>Go</button>",
        "<select name=optin_newsletter><option selected>yes</select>",
        "<textarea name=optin_newsletter>yes</textarea>",
        "<input type=checkbox name=optin_newsletter form=f>",
        NULL
    };
    int c, e, fix;

    for (c = 0; contexts[c]; ++c) {
        for (e = 0; elements[e]; ++e) {
            for (fix = 0; fix < 2; ++fix) {
                const char *page = apr_pstrcat(pool, contexts[c],
                    elements[e], "<form><input type=checkbox "
                    "name=optin_partners></form>", NULL);
                consent_guard_report_t r;
                char *out = guard(page, strlen(page), fix, &r);

                /* fix mode may say unticked only of a page whose edited
                 * bytes no longer tick */
                if (r.facts[0] != '1'
                    && (!fix || facts_of(out, 0)[0] == '1')) {
                    fail_msg("fix %d: %s gives %s", fix, page, r.facts);
                }
            }
        }
    }
}

/* Fix mode cuts every `checked`, however it is spelled. */
static void fix_cuts_every_checked(void **state)
{
    consent_guard_report_t r;
    const char *page = "<form><input type=checkbox name=optin_newsletter "
        "checked checked CHECKED checked=\"\" cHeCkEd='checked' "
        "checked=checked\tchecked\n/><input type=checkbox "
        "name=optin_partners checked checked>"
        "<input type=checkbox name=optin_partners checked/></form>";
    char *out = guard(page, strlen(page), 1, &r);

    assert_null(strcasestr(out, "checked"));
    assert_string_equal(r.facts, "00");
    assert_int_equal(r.fixed, 3);
    /* what is left reads the same: same names, no '/' taken by a value */
    assert_string_equal(out, "<form><input type=checkbox "
        "name=optin_newsletter\n/>" TOKEN_INPUT "T00\"><input "
        "type=checkbox name=optin_partners><input type=checkbox "
        "name=optin_partners /></form>");
    /* what cutting cannot make safe stays ticked */
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter checked form=f><select name=optin_partners>"
        "</select></form>", 1), "11");
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter></form><script>document.write('<input "
        "type=checkbox name=optin_partners checked>')</script>", 1), "01");
}

/* When unsure, the guard refuses: every purpose ticked. */
static void unsure_refuses(void **state)
{
    /* a name spelled with a reference it does not decode */
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin&UnknownRef;newsletter></form>", 0), "11");
    /* the page ends inside a tag */
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter><input type=checkbox name=optin_partners "
        "checked", 0), "11");
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter><p title='>", 0), "11");
    /* an undecoded reference elsewhere changes nothing */
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter title='&copy;'></form>", 0), "0-");
}

/* Text full of unended "<input" would cost time squared to read as
 * tags: past a budget the page is refused instead. */
static void shadow_reading_is_bounded(void **state)
{
    apr_size_t n = 200 * 1024, o = 0;
    char *page = apr_palloc(pool, n + 100);

    o += (apr_size_t)sprintf(page, "<form><input type=checkbox "
                             "name=optin_newsletter></form><script>");
    while (o < n) {
        o += (apr_size_t)sprintf(page + o, "<input ");
    }
    strcpy(page + o, "</script>");
    assert_string_equal(facts_of(page, 0), "11");
}

/* A "<!--" comment ends where it ends for every browser: a box
 * commented out is not on the page (fixing a page often looks so). */
static void commented_out_box(void **state)
{
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter><!-- <input type=checkbox "
        "name=optin_partners checked> --></form>", 0), "0-");
    /* ... but a comment that ends early does not hide what follows */
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter><!--><input type=checkbox "
        "name=optin_partners checked> --></form>", 0), "01");
    assert_string_equal(facts_of("<form><input type=checkbox "
        "name=optin_newsletter><!-- --!><input type=checkbox "
        "name=optin_partners checked> --></form>", 0), "01");
}

/* The scanner on its own: constructs and their ends. */
static void scanner_constructs(void **state)
{
    static const struct {
        const char *html;
        const char *kinds;      /* T text, G tag, O opaque */
    } cases[] = {
        { "a<b>c</b>", "TGTG" },
        { "<!---->x", "OT" },
        { "<!-->x", "OT" },
        { "<!--->x", "OT" },
        { "<!--!>-->x", "OT" },
        { "<!-- a --!>x", "OT" },
        { "<?x>y", "OT" },
        { "</ x>y", "OT" },
        { "</>y", "OT" },
        { "a < b", "TTT" },
        { "<script><b></script>x", "GOGT" },
        { "<script></script>", "GG" },
        { "<SCRIPT>a</scriptx></Script >b", "GOGT" },
        { "<svg><![CDATA[<b>]]></svg>", "GOG" },
        { "<![CDATA[<b>]]>", "OT" },
        { "<p title='>'>", "G" },
        { "<svg><style><b></style></svg>", "GGGGG" },
        { "<svg><title><style>x</style></title></svg>", "GGGOGGG" },
        /* script escapes: the first </script> does not end this one */
        { "<script><!--<script></script>x</script>y", "GOGT" },
        { "<script><!--<script></script>--></script>y", "GOGT" },
        { "<script><!--></script>y", "GOGT" },
        { NULL, NULL }
    };
    int i;

    for (i = 0; cases[i].html; ++i) {
        consent_scan_t s;
        consent_scan_token_t t;
        const char *b = cases[i].html;
        apr_size_t n = strlen(b);
        char kinds[32];
        int k = 0;

        consent_scan_init(&s, pool);
        s.every = 1;
        while (n) {
            consent_scan_next(&s, b, n, 1, &t);
            assert_int_not_equal(t.kind, CONSENT_SCAN_MORE);
            kinds[k++] = t.kind == CONSENT_SCAN_TEXT ? 'T'
                         : t.kind == CONSENT_SCAN_TAG ? 'G' : 'O';
            b += t.len;
            n -= t.len;
        }
        kinds[k] = '\0';
        if (strcmp(kinds, cases[i].kinds) != 0) {
            fail_msg("%s: %s, not %s", cases[i].html, kinds, cases[i].kinds);
        }
    }
}

static void bytes_of_any_charset_kept(void **state)
{
    const char page[] = "<meta charset=iso-8859-1><p>caf\xe9 \xff\xfe\x80"
        "<form><label>\xe9t\xe9<input type=checkbox "
        "name=optin_newsletter></label></form>\xe9";

    assert_string_equal(guarded(page, 0),
        "<meta charset=iso-8859-1><p>caf\xe9 \xff\xfe\x80"
        "<form><label>\xe9t\xe9<input type=checkbox name=optin_newsletter>"
        TOKEN_INPUT "T0-\"></label></form>\xe9");
}

static void charsets(void **state)
{
    assert_true(consent_guard_charset_ok(NULL));
    assert_true(consent_guard_charset_ok("utf-8"));
    assert_true(consent_guard_charset_ok("ISO-8859-1"));
    assert_true(consent_guard_charset_ok("windows-1252"));
    assert_true(consent_guard_charset_ok("Shift_JIS"));
    assert_false(consent_guard_charset_ok("UTF-16"));
    assert_false(consent_guard_charset_ok("utf-16le"));
    assert_false(consent_guard_charset_ok("ISO-2022-JP"));
    assert_false(consent_guard_charset_ok("x-no-such-charset"));
}

static void unsafe_charsets_pass_untouched(void **state)
{
    consent_guard_report_t r;
    const char *meta = "<meta http-equiv=Content-Type content=\"text/html; "
        "charset=ISO-2022-JP\"><form><input type=checkbox "
        "name=optin_newsletter checked></form>";
    const char bom[] = "\xff\xfe<\0f\0o\0r\0m\0>\0";

    assert_string_equal(guard(meta, strlen(meta), 1, &r), meta);
    assert_non_null(r.gave_up);
    assert_memory_equal(guard(bom, sizeof bom - 1, 1, &r), bom,
                        sizeof bom - 1);
    assert_non_null(r.gave_up);
}

/* Memory stays bounded: a 5 MB page leaves while it streams. */
static void large_page_streams(void **state)
{
    apr_size_t n = 5 * 1024 * 1024, o = 0;
    char *page = malloc(n + 200);
    sink_t s = { NULL, 0, 0, 0 };
    consent_guard_opts_t opts = opts_for(&s, 0);
    consent_guard_t *g;
    apr_size_t i, before_finish;

    while (o < n) {
        o += (apr_size_t)sprintf(page + o, "<div class=\"r\"><p title='x'>"
                                 "Lorem ipsum &amp; dolor %zu</p></div>\n", o);
    }
    o += (apr_size_t)sprintf(page + o, "<form><input type=checkbox "
                             "name=optin_partners></form>");
    assert_int_equal(consent_guard_open(&g, &opts, pool), APR_SUCCESS);
    for (i = 0; i < o; i += 8000) {
        assert_int_equal(consent_guard_push(g, page + i, o - i < 8000
                                            ? o - i : 8000), APR_SUCCESS);
    }
    before_finish = s.len;
    assert_int_equal(consent_guard_finish(g), APR_SUCCESS);
    assert_true(before_finish > o - 16384);
    assert_int_equal(s.len, o + strlen(TOKEN_INPUT "T-0\">"));
    assert_memory_equal(s.buf, page, o - strlen("</form>"));
    free(s.buf);
    free(page);
}

/* Seen in the benchmark: a form at the top of a 50 KB page, the whole
 * page in one bucket (a static file), got no token. */
static void form_before_a_long_page_in_one_push(void **state)
{
    const char *head = "<!DOCTYPE html><html><body><form method=post>"
                       "<label><input type=\"checkbox\" "
                       "name=\"optin_newsletter\"> News</label>"
                       "<button>Go</button></form>\n";
    const char *filler = "<p>Lorem ipsum dolor sit amet, consectetur.</p>\n";
    char *page = apr_pstrdup(pool, head), *out;
    consent_guard_report_t r;

    while (strlen(page) < 200 * 1024) {
        page = apr_pstrcat(pool, page, filler, NULL);
    }
    out = guard(page, strlen(page), 0, &r);
    assert_int_equal(r.forms, 1);
    assert_int_equal(r.unsure, 0);
    assert_non_null(strstr(out, TOKEN_INPUT));
}

/* A page held too long goes out as it was: a page reaching further than
 * the guard may hold past its first token gets no token; a single
 * comment that long ends the guard's reading of the page. */
static void beyond_max_hold(void **state)
{
    apr_size_t n = 64 * 1024, o, i, k;
    char *page = apr_palloc(pool, n + 200);
    consent_guard_report_t r;

    for (k = 0; k < 2; ++k) {
        sink_t s = { NULL, 0, 0, 0 };
        consent_guard_opts_t opts = opts_for(&s, 0);

        o = 0;
        if (k == 1) {
            o += (apr_size_t)sprintf(page, "<!--");
            for (i = 0; i < n; ++i) {
                page[o++] = 'x';
            }
            o += (apr_size_t)sprintf(page + o, "-->");
        }
        o += (apr_size_t)sprintf(page + o, "<form><input type=checkbox "
                                 "name=optin_partners checked>");
        for (i = 0; k == 0 && i < n; i += 9) {
            o += (apr_size_t)sprintf(page + o, "<b>x</b> ");
        }
        o += (apr_size_t)sprintf(page + o, "</form>");
        opts.max_hold = 4096;
        assert_int_equal(consent_guard_page(&opts, page, o, 7, &r, pool),
                         APR_SUCCESS);
        assert_int_equal(s.len, o);
        assert_memory_equal(s.buf, page, o);
        assert_int_equal(r.too_wide, k == 0);
        assert_true((r.gave_up != NULL) == (k == 1));
        free(s.buf);
    }
}

static void backend_spellings(void **state)
{
    static const char *const same[] = {
        "optin.newsletter", "optin newsletter", "optin_newsletter[]",
        "optin_newsletter[x][y]", "optin[newsletter", " optin_newsletter",
        "OPTIN_NEWSLETTER", "optin.newsletter[0]", NULL
    };
    static const char *const other[] = {
        "optin_newsletterx", "optin_news", "xoptin_newsletter", "optin",
        "optin[newsletter]", "", NULL
    };
    int i, exact;

    assert_int_equal(consent_guard_input_of(form, "optin_newsletter", 16,
                                            &exact), 0);
    assert_true(exact);
    assert_int_equal(consent_guard_input_of(form, "optin_partners", 14,
                                            &exact), 1);
    for (i = 0; same[i]; ++i) {
        assert_int_equal(consent_guard_input_of(form, same[i],
                                                strlen(same[i]), &exact), 0);
        assert_false(exact);
    }
    /* PHP stops at a NUL */
    assert_int_equal(consent_guard_input_of(form, "optin_newsletter\0junk",
                                            21, &exact), 0);
    assert_false(exact);
    for (i = 0; other[i]; ++i) {
        assert_int_equal(consent_guard_input_of(form, other[i],
                                                strlen(other[i]), &exact),
                         -1);
    }
}

/* ---- the submission ------------------------------------------------- */

static const char *real_token(const char *defaults)
{
    consent_token_facts_t f;
    const char *token;

    memset(&f, 0, sizeof f);
    f.form_id = form->id;
    f.form_version = form->version;
    f.lang = "en";
    f.defaults = defaults;
    f.page = CONSENT_PAGE_GUARD;
    memcpy(f.notice_sha256, consent_notice_get(form, "en")->sha256,
           CONSENT_SHA256_LEN);
    assert_int_equal(consent_token_issue(&token, ring, &f, pool),
                     APR_SUCCESS);
    return token;
}

static apr_array_header_t *post(const char *first, ...)
{
    apr_array_header_t *fs = apr_array_make(pool, 4,
                                            sizeof(consent_field_value_t));
    const char *name;
    va_list ap;

    va_start(ap, first);
    for (name = first; name; name = va_arg(ap, const char *)) {
        consent_field_value_t *f = apr_array_push(fs);
        f->name = name;
        f->value = va_arg(ap, const char *);
        f->len = strlen(f->value);
    }
    va_end(ap);
    return fs;
}

static consent_verdict_t *judge(apr_array_header_t *fs)
{
    consent_request_info_t in = { "127.0.0.1", "test", 0, 0, 0 };

    in.now = apr_time_now();
    in.lifetime = apr_time_from_sec(600);
    return consent_guard_check(form, ring, fs, &in, pool);
}

static void submission_translated(void **state)
{
    consent_verdict_t *v = judge(post(
        "consent_token", real_token("00"), "email", "Ann@Example.org",
        "password", "secret", "optin_newsletter", "0",
        "optin_newsletter", "1", "optin_partners", "0", NULL));
    consent_choice_t *c;

    assert_int_equal(v->kind, CONSENT_VERDICT_OK);
    assert_string_equal(v->proof->subject, "ann@example.org");
    assert_string_equal(v->proof->token_defaults, "00");
    c = &APR_ARRAY_IDX(v->proof->choices, 0, consent_choice_t);
    assert_string_equal(c->state, CONSENT_STATE_GIVEN);
    /* any value is a box ticked: "0", "no", "" too (a backend may read
     * them as set: PHP's !empty("no"), isset()) */
    c = &APR_ARRAY_IDX(v->proof->choices, 1, consent_choice_t);
    assert_string_equal(c->state, CONSENT_STATE_GIVEN);
    v = judge(post("consent_token", real_token("00"), "email", "a@b.org",
                   "optin_partners", "", NULL));
    assert_int_equal(v->kind, CONSENT_VERDICT_OK);
    c = &APR_ARRAY_IDX(v->proof->choices, 0, consent_choice_t);
    assert_string_equal(c->state, CONSENT_STATE_REFUSED);
    c = &APR_ARRAY_IDX(v->proof->choices, 1, consent_choice_t);
    assert_string_equal(c->state, CONSENT_STATE_GIVEN);
}

/* Names PHP reads as a guarded one: refused, whatever the token says. */
static void submission_other_spellings(void **state)
{
    static const char *const names[] = {
        "optin.newsletter", "optin newsletter", "optin_newsletter[]",
        "optin[newsletter", "Optin_Newsletter", "optin_partners[a]", NULL
    };
    int i;

    for (i = 0; names[i]; ++i) {
        consent_verdict_t *v = judge(post("consent_token", real_token("00"),
                                          "email", "a@b.org", names[i], "1",
                                          NULL));
        assert_int_equal(v->kind, CONSENT_VERDICT_BAD_INPUT);
        assert_string_equal(v->error_key, "error.bad_input");
        assert_null(v->proof);
    }
}

static void submission_refusals(void **state)
{
    assert_int_equal(judge(post("email", "a@b.org", "optin_newsletter",
                                "on", NULL))->kind,
                     CONSENT_VERDICT_FORBIDDEN);
    assert_int_equal(judge(post("consent_token", real_token("10"), "email",
                                "a@b.org", NULL))->kind,
                     CONSENT_VERDICT_PRETICKED);
    /* ticked although the page did not show it */
    assert_int_equal(judge(post("consent_token", real_token("0-"), "email",
                                "a@b.org", "optin_partners", "on",
                                NULL))->kind, CONSENT_VERDICT_BAD_INPUT);
    assert_int_equal(judge(post("consent_token", real_token("0-"), "email",
                                "not an address", NULL))->kind,
                     CONSENT_VERDICT_BAD_INPUT);
}

/* A guarded box's name cut at %00 (the adapter keeps it marked): 400,
 * never a consent. */
static void guarded_name_with_nul_is_refused(void **state)
{
    apr_array_header_t *fs = post("consent_token", real_token("00"),
                                  "email", "a@b.org", "optin_newsletter",
                                  "on", NULL);
    consent_verdict_t *v;

    APR_ARRAY_IDX(fs, 2, consent_field_value_t).bad_name = 1;
    v = judge(fs);
    assert_int_equal(v->kind, CONSENT_VERDICT_BAD_INPUT);
    assert_null(v->proof);
    /* and without the mark, the same POST is a consent */
    APR_ARRAY_IDX(fs, 2, consent_field_value_t).bad_name = 0;
    assert_int_equal(judge(fs)->kind, CONSENT_VERDICT_OK);
}

static void lint_rules(void **state)
{
    apr_array_header_t *problems = apr_array_make(pool, 4,
                                                  sizeof(consent_problem_t));
    consent_form_t copy = *form;
    consent_purpose_t a = *APR_ARRAY_IDX(form->purposes, 0,
                                         consent_purpose_t *);
    consent_purpose_t b = *APR_ARRAY_IDX(form->purposes, 1,
                                         consent_purpose_t *);

    assert_int_equal(consent_guard_lint(form, problems), 0);
    copy.purposes = apr_array_make(pool, 2, sizeof(consent_purpose_t *));
    APR_ARRAY_PUSH(copy.purposes, consent_purpose_t *) = &a;
    APR_ARRAY_PUSH(copy.purposes, consent_purpose_t *) = &b;
    a.input = NULL;
    b.input = "opt\"in";
    assert_int_equal(consent_guard_lint(&copy, problems), 2);
    a.input = "email";
    b.input = "consent_token";
    assert_int_equal(consent_guard_lint(&copy, problems), 2);
    a.input = "optin";
    b.input = "optin";
    assert_int_equal(consent_guard_lint(&copy, problems), 1);
    assert_string_equal(APR_ARRAY_IDX(problems, 0, consent_problem_t).rule,
                        "guard");
}

static int setup(void **state)
{
    static char dir[] = "/tmp/consent-guard-XXXXXX";
    apr_array_header_t *problems;
    consent_schema_t *schema;
    consent_key_t *key;
    const char *err = NULL, *path;
    FILE *f;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    problems = apr_array_make(pool, 4, sizeof(consent_problem_t));
    assert_int_equal(consent_schema_load(&schema, TEST_SRCDIR
                                         "/templates/consent-form.rng",
                                         problems, pool), APR_SUCCESS);
    assert_int_equal(consent_form_compile(&form, schema, TEST_SRCDIR
                     "/templates/examples/signup-guard.xml", problems,
                     pool), APR_SUCCESS);
    assert_non_null(mkdtemp(dir));
    path = apr_pstrcat(pool, dir, "/key", NULL);
    f = fopen(path, "w");
    fputs("0123456789abcdef0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(consent_key_load(&key, path, pool, &err), APR_SUCCESS);
    ring = consent_keyring_make(pool);
    consent_keyring_add(ring, key);
    unlink(path);
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untouched_without_guarded_boxes),
        cmocka_unit_test(token_after_first_box),
        cmocka_unit_test(several_forms_each_their_token),
        cmocka_unit_test(fix_cuts_checked_only),
        cmocka_unit_test(report_lines),
        cmocka_unit_test(hidden_consent_counts_as_ticked),
        cmocka_unit_test(malformed_html),
        cmocka_unit_test(tag_in_an_attribute_counts),
        cmocka_unit_test(form_membership_does_not_matter),
        cmocka_unit_test(what_sends_the_name),
        cmocka_unit_test(ticked_in_every_context),
        cmocka_unit_test(fix_cuts_every_checked),
        cmocka_unit_test(unsure_refuses),
        cmocka_unit_test(scanner_constructs),
        cmocka_unit_test(commented_out_box),
        cmocka_unit_test(shadow_reading_is_bounded),
        cmocka_unit_test(bytes_of_any_charset_kept),
        cmocka_unit_test(charsets),
        cmocka_unit_test(unsafe_charsets_pass_untouched),
        cmocka_unit_test(large_page_streams),
        cmocka_unit_test(form_before_a_long_page_in_one_push),
        cmocka_unit_test(beyond_max_hold),
        cmocka_unit_test(backend_spellings),
        cmocka_unit_test(submission_translated),
        cmocka_unit_test(submission_refusals),
        cmocka_unit_test(submission_other_spellings),
        cmocka_unit_test(guarded_name_with_nul_is_refused),
        cmocka_unit_test(lint_rules),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
