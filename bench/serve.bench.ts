/**
 * Load on `vigil serve` over loopback: autocannon, 50 concurrent clients posting fixture images to
 * POST /v1/screen for SERVE_BENCH_SECONDS (default 60) per scenario. Reported per scenario:
 * throughput (2xx/s), p50/p99 latency of accepted (2xx) and of refused (503) requests, counts by
 * status, client errors/timeouts, and the server's peak RSS (VmHWM). Scenarios:
 * - default limits (2 in flight, 16 queued): 503 + Retry-After for whatever exceeds the queue;
 * - a queue deeper than the client count (2 in flight, 64 queued): every request accepted.
 * References measured in the same run: the same images screened in-process by one screener
 * (no HTTP; 2 at a time, as the server's 2 inference slots), and GET /healthz under the same load
 * (the HTTP stack alone). Ratios compare served images/s with in-process images/s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/core/version.js';
import { createScreener } from '../src/screen/screener.js';

/** The part of autocannon's API used here (the package ships no type declarations). */
interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}
interface LoadSummary {
  duration: number;
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface LoadInstance extends PromiseLike<LoadSummary> {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void): void;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string;
  connections: number;
  duration: number;
  requests: LoadRequest[];
  timeout: number;
}) => LoadInstance;

const SECONDS = Number(process.env.SERVE_BENCH_SECONDS ?? 60);
const CONNECTIONS = 50;
const KEY = 'bench-key-0123456789abcdef';
const CLI = join(PACKAGE_ROOT, 'src', 'cli', 'main.ts');

function fixtureImages(): Array<{ name: string; bytes: Buffer }> {
  const dirs = ['heldout/real', 'heldout/fake/nnconv', 'heldout/fake/tconv'].map((d) => join(PACKAGE_ROOT, 'fixtures', 'screen', d));
  const images: Array<{ name: string; bytes: Buffer }> = [];
  for (const dir of dirs) {
    for (const name of readdirSync(dir).filter((n) => /\.(png|jpe?g)$/.test(n)).sort().slice(0, 8)) {
      images.push({ name, bytes: readFileSync(join(dir, name)) });
    }
  }
  return images;
}

interface Server {
  child: ChildProcess;
  url: string;
}

async function startServer(extra: string[]): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', ...extra], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, VIGIL_API_KEYS: KEY, CI: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(log);
      if (match && log.includes('vigil serve: ready')) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`vigil serve exited with ${code}: ${log}`)));
  });
  return { child, url };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** Resident set (VmRSS) or its peak so far (VmHWM) of a process, in MiB (Linux). */
function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface LoadResult {
  name: string;
  seconds: number;
  accepted: number;
  byStatus: Record<string, number>;
  acceptedLatency: { p50: number; p99: number };
  refusedLatency: { p50: number; p99: number };
  clientErrors: number;
  timeouts: number;
  peakRssMiB: number;
  /** VmRSS at 1/6, 1/2 and the end of the run: flat means memory does not grow under load. */
  rssTimeline: number[];
}

async function load(name: string, server: Server, requests: LoadRequest[]): Promise<LoadResult> {
  const latencies = new Map<number, number[]>();
  const pid = server.child.pid as number;
  const rssTimeline: number[] = [];
  const samplers = [SECONDS / 6, SECONDS / 2].map((at) => setTimeout(() => rssTimeline.push(rssMiB(pid, 'VmRSS')), at * 1000));
  const instance = autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests,
    timeout: 60,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const list = latencies.get(statusCode) ?? [];
    list.push(responseTime);
    latencies.set(statusCode, list);
  });
  const result = await instance;
  samplers.forEach(clearTimeout);
  rssTimeline.push(rssMiB(pid, 'VmRSS'));
  const sortedOf = (status: number): number[] => (latencies.get(status) ?? []).sort((a, b) => a - b);
  const ok = sortedOf(200);
  const refused = sortedOf(503);
  const byStatus = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]));
  return {
    name,
    seconds: result.duration,
    accepted: ok.length,
    byStatus,
    acceptedLatency: { p50: percentile(ok, 50), p99: percentile(ok, 99) },
    refusedLatency: { p50: percentile(refused, 50), p99: percentile(refused, 99) },
    clientErrors: result.errors,
    timeouts: result.timeouts,
    peakRssMiB: rssMiB(pid, 'VmHWM'),
    rssTimeline,
  };
}

async function inProcessRate(images: Array<{ name: string; bytes: Buffer }>): Promise<number> {
  const screener = await createScreener({ cacheDir: false });
  try {
    let done = 0;
    const deadline = performance.now() + Math.min(SECONDS, 20) * 1000;
    const start = performance.now();
    // Two at a time, like the server's two inference slots.
    const lane = async (offset: number): Promise<void> => {
      for (let i = offset; performance.now() < deadline; i += 2) {
        await screener.screen([images[i % images.length]]);
        done++;
      }
    };
    await Promise.all([lane(0), lane(1)]);
    return done / ((performance.now() - start) / 1000);
  } finally {
    await screener.release();
  }
}

export async function run(): Promise<void> {
  const images = fixtureImages();
  const screenRequests: LoadRequest[] = images.map((image) => ({
    method: 'POST',
    path: `/v1/screen?filename=${encodeURIComponent(image.name)}`,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/octet-stream' },
    body: image.bytes,
  }));
  console.log(`${images.length} fixture images (${(images.reduce((s, i) => s + i.bytes.length, 0) / images.length / 1024).toFixed(1)} KiB mean), ${CONNECTIONS} clients, ${SECONDS} s per scenario, loopback`);

  const reference = await inProcessRate(images);
  const results: LoadResult[] = [];
  for (const [name, args] of [
    ['screen, default limits (2 in flight, 16 queued)', []],
    ['screen, queue deeper than clients (2 / 64)', ['--max-queued', '64']],
  ] as const) {
    const server = await startServer([...args]);
    try {
      results.push(await load(name, server, screenRequests));
    } finally {
      await stopServer(server);
    }
  }
  const healthServer = await startServer([]);
  let health: LoadResult;
  try {
    health = await load('GET /healthz (HTTP stack only)', healthServer, [{ method: 'GET', path: '/healthz' }]);
  } finally {
    await stopServer(healthServer);
  }

  const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  console.log(`\nreference: in-process screening, no HTTP, 2 concurrent: ${fmt(reference)} images/s`);
  console.log(
    `\n${'scenario'.padEnd(50)}${'2xx/s'.padStart(9)}${'ratio'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'503 p50'.padStart(9)}${'503 p99'.padStart(9)}${'errors'.padStart(8)}${'RSS MiB'.padStart(9)}${'RSS over time'.padStart(16)}  statuses`,
  );
  for (const r of [...results, health]) {
    const rate = r.accepted / r.seconds;
    const isScreen = r !== health;
    console.log(
      `${r.name.padEnd(50)}${fmt(rate).padStart(9)}${(isScreen ? `${(rate / reference).toFixed(2)}x` : '').padStart(8)}${fmt(r.acceptedLatency.p50, 0).padStart(9)}${fmt(r.acceptedLatency.p99, 0).padStart(9)}` +
        `${fmt(r.refusedLatency.p50, 0).padStart(9)}${fmt(r.refusedLatency.p99, 0).padStart(9)}${String(r.clientErrors + r.timeouts).padStart(8)}${fmt(r.peakRssMiB, 0).padStart(9)}${r.rssTimeline.map((v) => fmt(v, 0)).join('/').padStart(16)}  ${JSON.stringify(r.byStatus)}`,
    );
  }
  console.log('(ratio: served 2xx/s relative to in-process screening; errors: connection errors + client timeouts; RSS: server peak VmHWM; RSS over time: VmRSS at 1/6, 1/2 and the end of the run)');
}
