import { VIGIL_VERSION } from '../core/version.js';
import type { ServiceLimits } from './limits.js';

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const imageRequestBody = (limits: ServiceLimits) => ({
  required: true,
  description:
    `One image, at most ${limits.maxBodyBytes} bytes: either the raw bytes as the body (any Content-Type; ` +
    'the format is read from the bytes) or multipart/form-data with exactly one file part.',
  content: {
    'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
    'image/*': { schema: { type: 'string', format: 'binary' } },
    'multipart/form-data': {
      schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } }, required: ['file'] },
    },
  },
});

const fileNameParameter = {
  name: 'filename',
  in: 'query',
  required: false,
  description: 'Name recorded in the result for a raw-body upload (multipart uploads use the part\'s file name).',
  schema: { type: 'string', maxLength: 255 },
};

const limitedResponses = (limits: ServiceLimits) => ({
  '400': errorResponse('Malformed request (empty body, no file part, unreadable multipart body, an API key in the URL).'),
  '401': errorResponse('Missing or unknown API key.'),
  '408': errorResponse(
    `Body not received within ${limits.bodyTimeoutMs} ms, or arriving slower than ${limits.minBodyBytesPerSecond} bytes/s after ${limits.bodyGraceMs} ms; the connection is closed.`,
  ),
  '413': errorResponse(`Body over ${limits.maxBodyBytes} bytes, or image over ${limits.maxPixels} pixels.`),
  '415': errorResponse('The bytes are not an image format vigil reads (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF).'),
  '422': errorResponse('An image that cannot be decoded or verified (corrupt, truncated); the message says why.'),
  '429': {
    ...errorResponse(`This API key already has ${limits.maxPerKey} inference requests in progress.`),
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' } },
  },
  '503': {
    ...errorResponse('Models still loading, shutting down, or every inference slot and queue place (or body-receiving place) taken.'),
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' } },
  },
  '504': errorResponse(`No answer within ${limits.requestTimeoutMs} ms of the body being received (queue wait included).`),
});

/** The OpenAPI 3.1 description served at /openapi.json, with this server's limits in it. */
export function openApiDocument(limits: ServiceLimits): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'vigil upload screening',
      version: VIGIL_VERSION,
      description:
        'Synthetic-media screening and C2PA provenance verification of single uploads. ' +
        'Responses carry the same JSON as one file of `vigil screen --json` / `vigil provenance verify --json`.',
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A key from VIGIL_API_KEYS or --api-keys-file.' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'requestId'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: {
                  type: 'string',
                  enum: [
                    'unauthorized', 'body-too-large', 'pixel-limit', 'unsupported-media-type', 'bad-request',
                    'invalid-image', 'overloaded', 'not-ready', 'timeout', 'not-found', 'internal',
                  ],
                },
                message: { type: 'string' },
              },
            },
            requestId: { type: 'string' },
          },
        },
        ScreenFileResult: {
          type: 'object',
          description: 'One file of the `vigil/screen` results document (see docs/screening.md).',
          additionalProperties: true,
        },
        VerifyFileResult: {
          type: 'object',
          description: 'One file of the `vigil/provenance` results document, its state under `state`.',
          additionalProperties: true,
        },
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/screen': {
        post: {
          summary: 'Score one image for synthetic-media artifacts',
          parameters: [fileNameParameter],
          requestBody: imageRequestBody(limits),
          responses: {
            '200': {
              description: 'The per-file screening result.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ScreenFileResult' } } },
            },
            ...limitedResponses(limits),
          },
        },
      },
      '/v1/provenance/verify': {
        post: {
          summary: 'Read and validate the C2PA manifest of one image',
          parameters: [fileNameParameter],
          requestBody: imageRequestBody(limits),
          responses: {
            '200': {
              description: 'The per-file verification result.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/VerifyFileResult' } } },
            },
            ...limitedResponses(limits),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness: the process answers',
          security: [],
          responses: { '200': { description: 'Alive.' } },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: models loaded and not shutting down',
          security: [],
          responses: { '200': { description: 'Ready, with what was loaded.' }, '503': { description: 'Loading, failed or draining.' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (text exposition format)',
          responses: { '200': { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } }, '401': errorResponse('Missing or unknown API key.') },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document.' } } },
      },
    },
  };
}
