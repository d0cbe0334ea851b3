"""A small existing application for the guard-mode tests: the signup pages
an application of a site would render itself, served by Python's
http.server on 127.0.0.1 in a thread, behind Apache's mod_proxy.

Every request it receives is appended to a JSON-lines log (method, path,
the headers the guard may touch, the exact body in hex), so that a test
can say what the application saw, and what it never saw.
"""
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORM = """\
<form method="post" action="{action}">
  <p><label>Email <input type="email" name="email"></label></p>
  <p><label>Password <input type="password" name="password"></label></p>
  <p><label><input type="checkbox" name="optin_newsletter"{nl}>
     Send me the monthly newsletter</label></p>
  <p><label><input type="checkbox" name="optin_partners">
     Send me offers from our partners</label></p>
  <p><label><input type="checkbox" name="remember" checked>
     Remember me</label></p>
  <button>Sign up</button>
</form>
"""


def page(body, title="Sign up", charset="utf-8"):
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"%s\">"
            "<title>%s</title></head>\n<body>\n<h1>%s</h1>\n%s</body>"
            "</html>\n" % (charset, title, title, body))


def form(action="", preticked=False):
    return FORM.format(action=action, nl=" checked" if preticked else "")


def big_page():
    rows = "".join("<tr><td class=\"n\">%d</td><td>Lorem ipsum &amp; "
                   "dolor sit amet, &lt;consectetur&gt;</td></tr>\n" % i
                   for i in range(60000))
    body = "<table>\n" + rows + "</table>\n" + form()
    html = page(body)
    assert len(html) > 5 * 1024 * 1024
    return html


MALFORMED = (
    "<html><body><div class=x><FORM method=post><table><tr><td>a < b & c"
    "<INPUT type=email name=email><td><Input TYPE=CheckBox "
    "title=\"1 > 0\" NAME=optin_newsletter><p>unclosed <b>bold<i>it"
    "<input type=checkbox name=optin_partners/>"
    "<!-- <input type=checkbox name=optin_partners checked> --><button>Go"
    "</div>")

LATIN1 = page("<p>D\xe9j\xe0 inscrit ? Caf\xe9 cr\xe8me.</p>" + form(),
              title="Inscription \xe0 la lettre", charset="iso-8859-1")


def pages():
    """path -> (status, content type, body bytes, extra headers)."""
    html = "text/html; charset=utf-8"
    two = form("/signup") + "<hr>" + \
        "<form method=post><input name=q></form>" + form("/signup")
    return {
        "/signup": (200, html, page(form()).encode(), {}),
        "/signup/preticked": (200, html, page(form(preticked=True)).encode(),
                              {}),
        "/signup/several": (200, html, page(two).encode(), {}),
        "/signup/short": (200, html, page(
            "<form method=post><input name=email><input type=checkbox "
            "name=optin_newsletter></form>").encode(), {}),
        "/signup/malformed": (200, "text/html", MALFORMED.encode(), {}),
        "/signup/big": (200, html, big_page().encode(), {}),
        "/signup/latin1": (200, "text/html; charset=ISO-8859-1",
                           LATIN1.encode("latin-1"), {}),
        "/signup/rejected": (422, html, page("<p>Email taken.</p>" +
                                             form()).encode(), {}),
        "/signup/error": (500, html, page(form()).encode(), {}),
        "/signup/data.json": (200, "application/json",
                              b'{"form": "<form><input type=checkbox '
                              b'name=optin_newsletter checked></form>"}',
                              {}),
        "/signup/pixel.png": (200, "image/png",
                              b"\x89PNG\r\n\x1a\n<form><input name="
                              b"optin_newsletter>" + bytes(range(256)), {}),
    }


class Backend:
    """The application: start(), url(), requests() (what it received)."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.pages = pages()
        self.lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def record(self, body):
                entry = {
                    "method": self.command, "path": self.path,
                    "body": body.hex(),
                    "content_type": self.headers.get("Content-Type"),
                    "accept_encoding": self.headers.get("Accept-Encoding"),
                    "receipt": self.headers.get("Consent-Receipt"),
                    "headers": list(self.headers.items()),
                }
                with backend.lock, open(backend.log_path, "a") as f:
                    f.write(json.dumps(entry) + "\n")

            def send(self, status, ctype, body, headers=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in dict(headers).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                self.record(b"")
                path = self.path.split("?")[0]
                if path in ("/signup/gzip", "/signup/negotiated"):
                    body = backend.negotiated_page()
                    wants = "gzip" in (self.headers.get("Accept-Encoding")
                                       or "")
                    if path == "/signup/gzip" or wants:
                        return self.send(200, "text/html; charset=utf-8",
                                         gzip.compress(body),
                                         {"Content-Encoding": "gzip",
                                          "Vary": "Accept-Encoding"})
                    return self.send(200, "text/html; charset=utf-8", body)
                if path not in backend.pages:
                    return self.send(404, "text/plain", b"not found")
                status, ctype, body, headers = backend.pages[path]
                self.send(status, ctype, body, headers)

            do_HEAD = do_GET

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                self.record(body)
                self.send(200, "text/html; charset=utf-8",
                          page("<p>Welcome!</p>", "Thanks").encode())

            # whatever else may carry a body: recorded the same way, so a
            # test can tell it never got there
            do_PUT = do_PATCH = do_DELETE = do_post = do_Post = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def requests(self, method=None):
        try:
            with open(self.log_path) as f:
                entries = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [e for e in entries if method is None or e["method"] == method]

    def page(self, path):
        return self.pages[path][2]

    @staticmethod
    def negotiated_page():
        """What /signup/gzip and /signup/negotiated hold, uncompressed."""
        return page(form()).encode()


CGI_SCRIPT = r"""#!/usr/bin/python3
# An application in CGI form: a signup page, and a POST it logs.
import json, os, sys
log = %(log)r
method = os.environ.get("REQUEST_METHOD")
if method == "POST":
    body = sys.stdin.buffer.read(int(os.environ.get("CONTENT_LENGTH") or 0))
    with open(log, "a") as f:
        f.write(json.dumps({"body": body.hex(),
                            "receipt": os.environ.get("HTTP_CONSENT_RECEIPT")
                            }) + "\n")
    sys.stdout.write("Content-Type: text/html\r\n\r\n<p>Welcome!</p>\n")
else:
    ticked = " checked" if "pre" in os.environ.get("QUERY_STRING", "") \
        else ""
    sys.stdout.write("Content-Type: text/html; charset=utf-8\r\n\r\n"
                     "<html><body><form method=post>"
                     "<input type=email name=email>"
                     "<input type=checkbox name=optin_newsletter%%s>"
                     "<input type=checkbox name=optin_partners>"
                     "<button>Go</button></form></body></html>\n" %% ticked)
"""
