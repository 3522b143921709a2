import multipart, { type MultipartFile } from '@fastify/multipart';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { basename } from 'node:path';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { AdmissionGate, type Reservation } from './admission.js';
import type { ApiKeyStore } from './auth.js';
import type { InferenceEngines } from './engines.js';
import { ServiceError, type ErrorResponse } from './errors.js';
import type { ServiceLimits } from './limits.js';
import { ServiceMetrics, type ServiceErrorKind } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { PerKeyCounter, watchBody } from './slow-clients.js';
import { printable } from '../core/printable.js';
import { IMAGE_MIME_TYPES, sniffImageMime } from '../core/image-format.js';

export interface ServiceOptions {
  limits: ServiceLimits;
  keys: ApiKeyStore;
  /** Loaded once; the service is ready (and /v1 routes answer) when it resolves. */
  engines: Promise<InferenceEngines>;
  /** fastify's logger option (pino); false by default. */
  logger?: boolean | Record<string, unknown>;
}

type Readiness =
  | { state: 'loading' }
  | { state: 'ready'; engines: InferenceEngines }
  | { state: 'failed'; reason: string }
  | { state: 'draining' };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Requires `Authorization: Bearer <key>`. */
    auth?: boolean;
    /** Takes an admission place (inference route). */
    inference?: boolean;
  }
  interface FastifyRequest {
    /** This request's state, set by the onRequest hooks (decorateRequest). */
    vigil: RequestState;
  }
}

interface RequestState {
  startedAt: bigint;
  /** Which API key authenticated the request (an id, never the key). */
  keyId?: string;
  /** Releases the per-key and body-receiving places when the request ends. */
  releases: Array<() => void>;
  /** The upload, read in full before an admission slot is taken. */
  upload?: Upload;
  reservation?: Reservation;
  /** Aborts at the request deadline (reason: the 504 error) or when the client goes away. */
  deadline?: AbortController;
  /** Taken at admission: a request admitted before shutdown began is still served while draining. */
  engines?: InferenceEngines;
  errorKind?: ServiceErrorKind;
}

export interface VigilService {
  app: FastifyInstance;
  gate: AdmissionGate;
  metrics: ServiceMetrics;
  /** Resolves once the engines are loaded; rejects with the load error. */
  ready: Promise<void>;
  /** Stops accepting, answers /readyz 503, waits for in-flight requests (at most drainTimeoutMs). */
  drain(): Promise<void>;
}

const KNOWN_FORMATS = IMAGE_MIME_TYPES.map((mime) => mime.slice('image/'.length).toUpperCase()).join(', ');

const TOO_LARGE_CODES = new Set([
  'FST_ERR_CTP_BODY_TOO_LARGE',
  'FST_REQ_FILE_TOO_LARGE',
  'FST_PARTS_LIMIT',
  'FST_FILES_LIMIT',
  'FST_FIELDS_LIMIT',
]);

/** Query parameters that look like credentials: a key in a URL ends up in logs, histories and proxies. */
const CREDENTIAL_PARAMETERS = /^(api[-_]?key|key|token|access[-_]?token|auth|authorization|bearer|secret|password)$/i;

/** The URL without its query string: what the access log records (a query may carry anything). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * fastify's logger, with requests logged by path only: a query string never reaches the log (an
 * API key sent there by mistake, refused with 400, is not written down either).
 */
function loggerOption(logger: ServiceOptions['logger']): boolean | Record<string, unknown> {
  if (!logger) return false;
  return {
    ...(typeof logger === 'object' ? logger : {}),
    serializers: {
      req: (request: FastifyRequest) => ({ method: request.method, url: pathOf(request.url), remoteAddress: request.ip }),
    },
  };
}

/**
 * The `vigil serve` HTTP service. Every upload is read into memory (never a temp file), its format
 * sniffed from its bytes, its pixel count read from its header, and only then handed to the models
 * through the admission gate. The request pipeline is a chain of hooks, each owning one concern:
 * metrics and request state (onRequest), credentials in the URL (onRequest), authentication and
 * the per-key limit (onRequest), readiness and the body-receive watch (onRequest), then reading the
 * upload and taking an admission slot once the body is in (preHandler).
 */
export function createService(options: ServiceOptions): VigilService {
  const { limits, keys } = options;
  const gate = new AdmissionGate(limits.maxInFlight, limits.maxQueued);
  const metrics = new ServiceMetrics(gate);
  const perKey = new PerKeyCounter(limits.maxPerKey);
  let receiving = 0;
  let readiness: Readiness = { state: 'loading' };

  const app = Fastify({
    logger: loggerOption(options.logger),
    bodyLimit: limits.maxBodyBytes,
    // Socket-level backstop; the body watch (slow-clients.ts) cuts slow bodies off much earlier.
    requestTimeout: limits.bodyTimeoutMs + limits.requestTimeoutMs + 1000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('vigil', null as unknown as RequestState);

  // No JSON or text parsing: every body is bytes, whatever its Content-Type says.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.maxBodyBytes }, (_request, body, done) => {
    done(null, body);
  });
  void app.register(multipart, {
    limits: { fileSize: limits.maxBodyBytes, files: 1, fields: 4, fieldSize: 1024, parts: 5, headerPairs: 50 },
  });

  const ready = options.engines.then(
    (engines) => {
      if (readiness.state === 'loading') readiness = { state: 'ready', engines };
    },
    (error: unknown) => {
      readiness = { state: 'failed', reason: errorMessage(error) };
      throw error;
    },
  );
  // The caller awaits `ready`; this keeps an unawaited rejection from crashing the process first.
  ready.catch(() => {});

  // Request state and metrics: every request, answered or not, is counted once when it ends.
  app.addHook('onRequest', async (request, reply) => {
    const state: RequestState = { startedAt: process.hrtime.bigint(), releases: [] };
    request.vigil = state;
    reply.raw.on('close', () => {
      state.reservation?.release();
      for (const release of state.releases.splice(0)) release();
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.requests.inc({ route, method: request.method, status: String(reply.raw.statusCode) });
      metrics.latency.observe({ route }, Number(process.hrtime.bigint() - state.startedAt) / 1e9);
      if (state.errorKind) metrics.errors.inc({ kind: state.errorKind });
    });
  });

  // Credentials in the URL are refused before anything else looks at them.
  app.addHook('onRequest', async (request) => {
    const query = request.url.indexOf('?');
    if (query < 0) return;
    const offending = [...new URLSearchParams(request.url.slice(query + 1)).keys()].find((name) => CREDENTIAL_PARAMETERS.test(name));
    if (offending !== undefined) {
      throw new ServiceError(
        400,
        'bad-request',
        `API keys are accepted only in the Authorization header (Bearer), never in the URL; remove the query parameter ${JSON.stringify(offending)}`,
      );
    }
  });

  // Authentication, then the per-key limit on inference requests.
  app.addHook('onRequest', async (request, reply) => {
    const flags = request.routeOptions.config ?? {};
    if (!flags.auth) return;
    const keyId = keys.keyIdOf(request.headers.authorization);
    if (keyId === undefined) {
      void reply.header('WWW-Authenticate', 'Bearer realm="vigil"');
      throw new ServiceError(401, 'unauthorized', 'A valid API key is required: send Authorization: Bearer <key>');
    }
    request.vigil.keyId = keyId;
    if (!flags.inference) return;
    const release = perKey.tryTake(keyId);
    if (!release) {
      throw new ServiceError(429, 'too-many-requests', `This API key already has ${limits.maxPerKey} inference requests in progress; retry later`, {
        'Retry-After': String(limits.retryAfterSeconds),
      });
    }
    request.vigil.releases.push(release);
  });

  // Readiness and the body watch: slow or stalled bodies are cut off; no admission slot is held meanwhile.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.routeOptions.config?.inference) return;
    if (readiness.state !== 'ready') {
      const why = readiness.state === 'failed' ? `model loading failed: ${readiness.reason}` : `the service is ${readiness.state}`;
      throw new ServiceError(503, 'not-ready', `Not ready: ${why}`, { 'Retry-After': String(limits.retryAfterSeconds) });
    }
    // Taken now: a request that arrived before shutdown began is still served while draining.
    request.vigil.engines = readiness.engines;
    if (receiving >= limits.maxReceiving) {
      throw new ServiceError(503, 'overloaded', `${limits.maxReceiving} request bodies are being received already; retry later`, {
        'Retry-After': String(limits.retryAfterSeconds),
      });
    }
    receiving++;
    let received = false;
    const done = (): void => {
      if (!received) {
        received = true;
        receiving--;
      }
    };
    request.vigil.releases.push(done);
    watchBody(request, reply, limits, () => {
      request.vigil.errorKind = 'slow-client';
    });
  });

  // The body is in: read the upload (multipart parts too), then take an admission place.
  app.addHook('preHandler', async (request) => {
    if (!request.routeOptions.config?.inference) return;
    const state = request.vigil;
    state.upload = await readUpload(request);
    const reservation = gate.tryReserve();
    if (!reservation) {
      throw new ServiceError(
        503,
        'overloaded',
        `Every inference slot (${limits.maxInFlight}) and queue place (${limits.maxQueued}) is taken; retry later`,
        { 'Retry-After': String(limits.retryAfterSeconds) },
      );
    }
    state.reservation = reservation;
    // Our own deadline rather than fastify's handlerTimeout: its request.signal also aborts as soon
    // as the request body has been read, which would drop every queued request.
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new ServiceError(504, 'timeout', `No answer within ${limits.requestTimeoutMs} ms`)),
      limits.requestTimeoutMs,
    );
    state.releases.push(() => {
      clearTimeout(timer);
      deadline.abort(new Error('the client closed the connection'));
    });
    state.deadline = deadline;
  });

  // While draining, every response closes its connection, so keep-alive clients do not hold shutdown up.
  app.addHook('onSend', async (_request, reply) => {
    if (readiness.state === 'draining') void reply.header('Connection', 'close');
  });

  app.setErrorHandler((error: FastifyError | ServiceError | Error, request, reply) => {
    const { status, kind, message, headers } = classifyError(error, limits);
    if (request.vigil) request.vigil.errorKind = kind;
    if (status >= 500 && kind === 'internal') request.log.error({ err: error }, 'request failed');
    const body: ErrorResponse = { error: { code: kind, message }, requestId: String(request.id) };
    // Refused before its body was read (401, 429, 503): close the connection rather than wait for the rest of it.
    if (!request.raw.complete) void reply.header('Connection', 'close');
    void reply.code(status).headers(headers).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    if (request.vigil) request.vigil.errorKind = 'not-found';
    const body: ErrorResponse = {
      error: { code: 'not-found', message: `No route ${request.method} ${printable(pathOf(request.url))}` },
      requestId: String(request.id),
    };
    void reply.code(404).send(body);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (readiness.state === 'ready') return { status: 'ready', engines: readiness.engines.description };
    void reply.code(503);
    return readiness.state === 'failed' ? { status: 'failed', reason: readiness.reason } : { status: readiness.state };
  });

  app.get('/openapi.json', async () => openApiDocument(limits));

  app.get('/metrics', { config: { auth: true } }, async (_request, reply) => {
    void reply.header('Content-Type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const inferenceRoute = (kind: 'screen' | 'verify') => async (request: FastifyRequest) => {
    const { upload, reservation, deadline, engines } = request.vigil as Required<RequestState>;
    deadline.signal.throwIfAborted();
    const format = sniffImageMime(upload.bytes);
    if (!format) {
      throw new ServiceError(
        415,
        'unsupported-media-type',
        `${upload.fileName}: the bytes are not an image vigil reads (expected ${KNOWN_FORMATS}; ` +
          `received ${describeLeadingBytes(upload.bytes)}, Content-Type ${JSON.stringify(request.headers['content-type'] ?? 'none')})`,
      );
    }
    if (kind === 'screen') await checkPixels(upload.bytes, upload.fileName, limits.maxPixels);
    // On timeout the 504 goes out at once; inference already running finishes in the background,
    // still holding its slot, and its result is dropped.
    return untilAborted(
      reservation.run(
        () => (kind === 'screen' ? engines.screen(upload.bytes, upload.fileName) : engines.verify(upload.bytes, upload.fileName)),
        deadline.signal,
      ),
      deadline.signal,
    );
  };

  const inferenceConfig = { config: { auth: true, inference: true } };
  app.post('/v1/screen', inferenceConfig, inferenceRoute('screen'));
  app.post('/v1/provenance/verify', inferenceConfig, inferenceRoute('verify'));

  async function drain(): Promise<void> {
    readiness = { state: 'draining' };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), limits.drainTimeoutMs);
    });
    const closed = app.close().then(() => 'closed' as const);
    const outcome = await Promise.race([closed, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      app.server.closeAllConnections();
      await closed;
    }
  }

  return { app, gate, metrics, ready, drain };
}

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

interface Upload {
  bytes: Buffer;
  fileName: string;
}

/** A name for the result: the last path segment only, printable, bounded. */
function cleanFileName(name: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = basename((name ?? '').replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255);
  return cleaned.length > 0 ? cleaned : 'upload';
}

/** A malformed multipart body is the client's mistake (400 with the reason), a too-large one 413; never 500. */
async function readMultipart(request: FastifyRequest): Promise<{ part: MultipartFile | undefined; bytes: Buffer }> {
  try {
    const part = await request.file();
    return { part, bytes: part ? await part.toBuffer() : Buffer.alloc(0) };
  } catch (error) {
    const code = (error as FastifyError).code;
    if (error instanceof ServiceError || (code !== undefined && TOO_LARGE_CODES.has(code))) throw error;
    throw new ServiceError(400, 'bad-request', `The multipart body cannot be read: ${errorMessage(error)}`);
  }
}

async function readUpload(request: FastifyRequest): Promise<Upload> {
  if (request.isMultipart()) {
    const { part, bytes } = await readMultipart(request);
    if (!part) throw new ServiceError(400, 'bad-request', 'The multipart body has no file part: send the image as a file field');
    if (bytes.length === 0) throw new ServiceError(400, 'bad-request', `${cleanFileName(part.filename)}: the uploaded file is empty (0 bytes)`);
    return { bytes, fileName: cleanFileName(part.filename) };
  }
  const query = request.query as Record<string, unknown>;
  const fileName = cleanFileName(typeof query.filename === 'string' ? query.filename : undefined);
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new ServiceError(400, 'bad-request', `${fileName}: the request body is empty; send the image bytes or a multipart file`);
  }
  return { bytes: body, fileName };
}

function describeLeadingBytes(bytes: Buffer): string {
  const head = bytes.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `${bytes.length} bytes starting ${head}`;
}

/** Reads width and height from the header only (nothing decoded), so a bomb is refused before it expands. */
async function checkPixels(bytes: Buffer, fileName: string, maxPixels: number): Promise<void> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch (error) {
    throw new VigilInputError(`${fileName}: cannot read the image header: ${errorMessage(error)}`, { subject: fileName });
  }
  if (!width || !height) throw new VigilInputError(`${fileName}: the image header gives no dimensions`, { subject: fileName });
  if (width * height > maxPixels) {
    throw new ServiceError(
      413,
      'pixel-limit',
      `${fileName}: Expected at most ${maxPixels} pixels but received ${width}×${height} = ${width * height}`,
    );
  }
}

function classifyError(
  error: FastifyError | ServiceError | Error,
  limits: ServiceLimits,
): { status: number; kind: ServiceErrorKind; message: string; headers: Record<string, string> } {
  if (error instanceof ServiceError) {
    return { status: error.statusCode, kind: error.kind, message: error.message, headers: error.headers };
  }
  if (error instanceof VigilInputError) return { status: 422, kind: 'invalid-image', message: error.message, headers: {} };
  const code = (error as FastifyError).code;
  if (code !== undefined && TOO_LARGE_CODES.has(code)) {
    return {
      status: 413,
      kind: 'body-too-large',
      message: `Expected a body of at most ${limits.maxBodyBytes} bytes with one file (${error.message})`,
      headers: {},
    };
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return { status, kind: 'bad-request', message: error.message, headers: {} };
  }
  return { status: 500, kind: 'internal', message: 'Internal error; the server log has details', headers: {} };
}
