#!/usr/bin/env python3
"""netsrv.py PORTFILE PROFILE SPOOLDIR — a loopback HTTP server for the
cprof command's network tests: profile sources with every failure a real
server shows (fetch.sh), and a Pyroscope ingest receiver that checks each
documented field of what `cprof push` sends and keeps the profiles it
received (push.sh).

The receiver appends one JSON line per request to SPOOLDIR/log.jsonl and
writes each accepted profile to SPOOLDIR/recv-N.pb.gz; a request it finds
wrong gets 400 with the reason (which the test then sees in cprof's error).
"""
import email.parser
import gzip
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, profile_path, spool = sys.argv[1], sys.argv[2], sys.argv[3]
PROFILE = open(profile_path, 'rb').read()
TOKEN = 'sekrit-token'
lock = threading.RLock()
state = {'n': 0, 'fail5xx': {}}
_bomb = []


def bomb():
    # 300 MiB of zeros as 300 gzip members of 1 MiB each (a gzip reader
    # reads concatenated members as one stream): about 300 KB on the wire
    if not _bomb:
        _bomb.append(gzip.compress(bytes(1 << 20), 9) * 300)
    return _bomb[0]


NAME_RX = re.compile(r'^[A-Za-z0-9_.\-]+\.(cpu|heap|mutex|block|threads|io|profile)'
                     r'(\{([A-Za-z_][A-Za-z0-9_.]*=[^,{}=]*)(,[A-Za-z_][A-Za-z0-9_.]*=[^,{}=]*)*\})?$')


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype='application/octet-stream', extra=()):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        p = u.path
        if p in ('/ok', '/debug/pprof/profile', '/debug/pprof/heap'):
            with lock:
                with open(os.path.join(spool, 'get.log'), 'a') as f:
                    f.write(self.path + '\n')
            return self.send(200, PROFILE)
        if p == '/missing':
            return self.send(404, b'no such profile\n', 'text/plain')
        if p == '/auth':
            if self.headers.get('Authorization') == 'Bearer ' + TOKEN:
                return self.send(200, PROFILE)
            return self.send(401, b'unauthorized\n', 'text/plain')
        if p == '/redirect':
            return self.send(302, b'', extra=[('Location', '/ok')])
        if p == '/redirect-loop':
            return self.send(302, b'', extra=[('Location', '/redirect-loop')])
        if p == '/slow':
            time.sleep(float(q.get('sleep', ['5'])[0]))
            return self.send(200, PROFILE)
        if p == '/truncated':
            self.send_response(200)
            self.send_header('Content-Length', str(len(PROFILE)))
            self.end_headers()
            self.wfile.write(PROFILE[: len(PROFILE) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if p == '/text':
            return self.send(200, b'hello, this is not a profile\n', 'text/plain')
        if p == '/bomb':
            return self.send(200, bomb())
        if p == '/big':
            return self.send(200, bytes(int(q.get('mb', ['300'])[0]) << 20))
        return self.send(404, b'not found\n', 'text/plain')

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(n)
        if u.path != '/ingest':
            return self.send(404, b'not found\n', 'text/plain')
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        rec = {'query': {k: v[0] for k, v in q.items()},
               'auth': self.headers.get('Authorization'),
               'tenant': self.headers.get('X-Scope-OrgID'),
               'ctype': self.headers.get('Content-Type')}
        name = rec['query'].get('name', '')
        with lock:
            if 'fail5xx' in name:  # the first two attempts of each name fail
                k = state['fail5xx'].get(name, 0)
                state['fail5xx'][name] = k + 1
                if k < 2:
                    rec['answer'] = 503
                    self.log(rec)
                    return self.send(503, b'try later\n', 'text/plain')
        if 'fail4xx' in name:
            rec['answer'] = 400
            self.log(rec)
            return self.send(400, b'bad tenant config\n', 'text/plain')
        errs = []
        if not NAME_RX.match(name):
            errs.append('bad name %r' % name)
        for k in ('from', 'until'):
            if not re.fullmatch(r'[0-9]{9,11}', rec['query'].get(k, '')):
                errs.append('bad %s' % k)
        if not errs and int(rec['query']['until']) < int(rec['query']['from']):
            errs.append('until before from')
        if rec['query'].get('format') != 'pprof':
            errs.append('format is not pprof')
        if not rec['query'].get('spyName'):
            errs.append('no spyName')
        ct = rec['ctype'] or ''
        prof = None
        stc = None
        if ct.startswith('multipart/form-data'):
            msg = email.parser.BytesParser().parsebytes(
                b'Content-Type: ' + ct.encode() + b'\r\n\r\n' + body)
            for part in msg.get_payload() if msg.is_multipart() else []:
                fname = part.get_param('name', header='content-disposition')
                data = part.get_payload(decode=True)
                if fname == 'profile':
                    prof = data
                elif fname == 'sample_type_config':
                    try:
                        stc = json.loads(data)
                    except ValueError:
                        errs.append('sample_type_config is not JSON')
            if prof is None:
                errs.append('no profile part')
            if stc is None:
                errs.append('no sample_type_config part')
            else:
                rec['sample_type_config'] = stc
                for k, v in stc.items():
                    if not isinstance(v, dict) or 'units' not in v or 'aggregation' not in v:
                        errs.append('sample_type_config[%s] lacks units/aggregation' % k)
        else:
            errs.append('Content-Type is not multipart/form-data: %r' % ct)
        if prof is not None:
            try:
                gzip.decompress(prof)
            except OSError:
                errs.append('profile part is not gzip')
        if errs:
            rec['answer'] = 400
            rec['errors'] = errs
            self.log(rec)
            return self.send(400, ('; '.join(errs) + '\n').encode(), 'text/plain')
        with lock:
            state['n'] += 1
            path = os.path.join(spool, 'recv-%d.pb.gz' % state['n'])
        with open(path, 'wb') as f:
            f.write(prof)
        rec['answer'] = 200
        rec['file'] = path
        self.log(rec)
        return self.send(200, b'', 'text/plain')

    def log(self, rec):
        with lock:
            with open(os.path.join(spool, 'log.jsonl'), 'a') as f:
                f.write(json.dumps(rec, sort_keys=True) + '\n')


srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
if os.environ.get('NETSRV_TLS'):  # CERT:KEY — serve https instead
    import ssl
    cert, key = os.environ['NETSRV_TLS'].split(':')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.daemon_threads = True
srv.handle_error = lambda *a: None  # clients that give up are part of the tests
tmp = portfile + '.tmp'
with open(tmp, 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, portfile)
srv.serve_forever()
