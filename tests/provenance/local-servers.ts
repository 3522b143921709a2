import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Local stand-ins for network services, on 127.0.0.1 only: an RFC 3161 time-stamp authority
 * (openssl `ts -reply` behind a small HTTP handler, with its own root and TSA certificate made by
 * openssl) and a static file server for remote (cloud) manifests.
 */

const run = promisify(execFile);

export interface LocalServer {
  url: string;
  requests: number;
  close: () => Promise<void>;
}

async function listen(server: Server, path: string): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return `http://127.0.0.1:${address.port}${path}`;
}

export interface LocalTsa extends LocalServer {
  /** The TSA's root certificate (PEM): the anchor a verifier needs to trust its time-stamps. */
  rootPem: string;
  rootFile: string;
}

const TSA_CONFIG = `
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = DIR
serial = $dir/serial
signer_cert = $dir/tsa.pem
certs = $dir/tsa-chain.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`;

const TSA_LEAF_EXT = `
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** Whether openssl (with the ts command) is available; the TSA tests skip without it. */
export async function hasOpensslTs(): Promise<boolean> {
  try {
    await run('openssl', ['ts', '-help']);
    return true;
  } catch (error) {
    return /Usage|usage/.test(String((error as { stderr?: string }).stderr ?? ''));
  }
}

/** Starts a time-stamp authority answering application/timestamp-query POSTs with openssl ts -reply. */
export async function startLocalTsa(dir: string): Promise<LocalTsa> {
  await mkdir(dir, { recursive: true });
  const file = (name: string): string => join(dir, name);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('root.key'), '-out', file('root.pem'), '-days', '3650', '-subj', '/CN=vigil test TSA root/O=vigil tests', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('tsa.key'), '-out', file('tsa.csr'), '-subj', '/CN=vigil test TSA/O=vigil tests']);
  await writeFile(file('tsa.ext'), TSA_LEAF_EXT);
  await run('openssl', ['x509', '-req', '-in', file('tsa.csr'), '-CA', file('root.pem'), '-CAkey', file('root.key'), '-CAcreateserial', '-out', file('tsa.pem'), '-days', '3650', '-extfile', file('tsa.ext')]);
  await writeFile(file('tsa-chain.pem'), (await readFile(file('tsa.pem'), 'utf8')) + (await readFile(file('root.pem'), 'utf8')));
  await writeFile(file('serial'), '01\n');
  await writeFile(file('ts.cnf'), TSA_CONFIG.replace('DIR', dir));
  let counter = 0;
  const state = { requests: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      state.requests++;
      const id = counter++;
      const query = file(`q${id}.tsq`);
      const reply = file(`r${id}.tsr`);
      writeFile(query, Buffer.concat(chunks))
        .then(() => run('openssl', ['ts', '-reply', '-config', file('ts.cnf'), '-queryfile', query, '-out', reply]))
        .then(() => readFile(reply))
        .then((body) => {
          response.writeHead(200, { 'content-type': 'application/timestamp-reply' });
          response.end(body);
        })
        .catch((error: unknown) => {
          response.writeHead(500);
          response.end(String(error));
        });
    });
  });
  const url = await listen(server, '/tsr');
  return {
    url,
    get requests() {
      return state.requests;
    },
    rootPem: await readFile(file('root.pem'), 'utf8'),
    rootFile: file('root.pem'),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface FileServer extends LocalServer {
  setBody: (body: Uint8Array) => void;
  setDelay: (ms: number) => void;
}

/** Serves a body at one path (404 elsewhere), optionally slowly, for remote-manifest tests. */
export async function startFileServer(path: string, initialBody: Uint8Array, options: { contentType?: string } = {}): Promise<FileServer> {
  const state = { requests: 0, body: initialBody, delayMs: 0 };
  const server = createServer((request, response) => {
    state.requests++;
    if (request.url !== path) {
      response.writeHead(404);
      response.end();
      return;
    }
    setTimeout(() => {
      response.writeHead(200, { 'content-type': options.contentType ?? 'application/c2pa', 'content-length': String(state.body.length) });
      response.end(state.body);
    }, state.delayMs);
  });
  const url = await listen(server, path);
  return {
    url,
    get requests() {
      return state.requests;
    },
    setBody: (body) => {
      state.body = body;
    },
    setDelay: (ms) => {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
