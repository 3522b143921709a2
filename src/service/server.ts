import multipart from '@fastify/multipart';
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
}

interface RequestState {
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

/**
 * The `vigil serve` HTTP service. Every upload is read into memory (never a temp file), its format
 * sniffed from its bytes, its pixel count read from its header, and only then handed to the models
 * through the admission gate.
 */
export function createService(options: ServiceOptions): VigilService {
  const { limits, keys } = options;
  const gate = new AdmissionGate(limits.maxInFlight, limits.maxQueued);
  const metrics = new ServiceMetrics(gate);
  const states = new WeakMap<FastifyRequest, RequestState>();
  let readiness: Readiness = { state: 'loading' };

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.maxBodyBytes,
    // Socket-level cap on receiving a whole request: a client trickling its body cannot hold a place forever.
    requestTimeout: limits.requestTimeoutMs + 1000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

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

  const stateOf = (request: FastifyRequest): RequestState => {
    let state = states.get(request);
    if (!state) {
      state = {};
      states.set(request, state);
    }
    return state;
  };

  app.addHook('onRequest', async (request, reply) => {
    const flags = request.routeOptions.config ?? {};
    const state = stateOf(request);
    const startedAt = process.hrtime.bigint();
    reply.raw.on('close', () => {
      state.reservation?.release();
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
      metrics.latency.observe({ route }, Number(process.hrtime.bigint() - startedAt) / 1e9);
      if (state.errorKind) metrics.errors.inc({ kind: state.errorKind });
    });
    if (flags.auth && !keys.verifyAuthorization(request.headers.authorization)) {
      void reply.header('WWW-Authenticate', 'Bearer realm="vigil"');
      throw new ServiceError(401, 'unauthorized', 'A valid API key is required: send Authorization: Bearer <key>');
    }
    if (flags.inference) {
      if (readiness.state !== 'ready') {
        const why = readiness.state === 'failed' ? `model loading failed: ${readiness.reason}` : `the service is ${readiness.state}`;
        throw new ServiceError(503, 'not-ready', `Not ready: ${why}`, { 'Retry-After': String(limits.retryAfterSeconds) });
      }
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
      state.engines = readiness.engines;
      // Our own deadline rather than fastify's handlerTimeout: its request.signal also aborts as soon
      // as the request body has been read, which would drop every queued request.
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new ServiceError(504, 'timeout', `No answer within ${limits.requestTimeoutMs} ms`)),
        limits.requestTimeoutMs,
      );
      reply.raw.on('close', () => {
        clearTimeout(timer);
        deadline.abort(new Error('the client closed the connection'));
      });
      state.deadline = deadline;
    }
  });

  // While draining, every response closes its connection, so keep-alive clients do not hold shutdown up.
  app.addHook('onSend', async (_request, reply) => {
    if (readiness.state === 'draining') void reply.header('Connection', 'close');
  });

  app.setErrorHandler((error: FastifyError | ServiceError | Error, request, reply) => {
    const { status, kind, message, headers } = classifyError(error, limits);
    stateOf(request).errorKind = kind;
    if (status >= 500 && kind === 'internal') request.log.error({ err: error }, 'request failed');
    const body: ErrorResponse = { error: { code: kind, message }, requestId: String(request.id) };
    void reply.code(status).headers(headers).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    stateOf(request).errorKind = 'not-found';
    const body: ErrorResponse = {
      error: { code: 'not-found', message: `No route ${request.method} ${request.url.split('?')[0]}` },
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
    const upload = await readUpload(request);
    (stateOf(request).deadline as AbortController).signal.throwIfAborted();
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
    const { reservation, deadline, engines } = stateOf(request) as Required<RequestState>;
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

async function readUpload(request: FastifyRequest): Promise<Upload> {
  if (request.isMultipart()) {
    const part = await request.file();
    if (!part) throw new ServiceError(400, 'bad-request', 'The multipart body has no file part: send the image as a file field');
    const bytes = await part.toBuffer();
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
