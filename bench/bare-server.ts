// The ceiling: a bare Node.js HTTPS server that reads the body, parses it once and allows.
// Usage: node bench/bare-server.ts PORT CERT_DIR
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import path from 'node:path';

const [port, certDir] = process.argv.slice(2);
if (!port || !certDir) throw new Error('usage: bare-server.ts PORT CERT_DIR');
const server = createServer({ cert: readFileSync(path.join(certDir, 'tls.crt')), key: readFileSync(path.join(certDir, 'tls.key')), keepAliveTimeout: 120_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let uid = '';
    try {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const r = typeof body === 'object' && body !== null && 'request' in body ? body.request : undefined;
      uid = typeof r === 'object' && r !== null && 'uid' in r && typeof r.uid === 'string' ? r.uid : '';
    } catch {
      // a GET for readiness has no body
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
  });
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
