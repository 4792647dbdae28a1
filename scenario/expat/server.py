"""An HTTP server on 127.0.0.1 that parses each POSTed XML body with
xml.parsers.expat and returns the number of elements, or 400 when the body
is not well-formed.  It serves the load generator while patches are applied.

usage: python3 server.py PORT   (0 picks a free port; the ready line names it)
"""
import http.server
import os
import sys
import xml.parsers.expat


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY the second
    # waits for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        counts = {"elements": 0}

        def start_element(name, attributes):
            counts["elements"] += 1

        parser = xml.parsers.expat.ParserCreate()
        parser.StartElementHandler = start_element
        try:
            parser.Parse(body, True)
            status, reply = 200, "elements=%d\n" % counts["elements"]
        except xml.parsers.expat.ExpatError as error:
            status, reply = 400, "invalid XML: %s\n" % error
        data = reply.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        data = ("pid=%d %s\n" % (os.getpid(), xml.parsers.expat.EXPAT_VERSION)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


def main():
    port = int(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready pid=%d port=%d %s" % (os.getpid(), server.server_address[1],
                                        xml.parsers.expat.EXPAT_VERSION), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
