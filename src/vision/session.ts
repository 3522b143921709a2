import ort from 'onnxruntime-node';
import { errorMessage, invalidArgument, VigilInputError } from '../core/errors.js';
import { DEVICES, type Device, type ExecutionProvider } from './types.js';

export { DEVICES };

/** GPU providers `auto` tries, in order, before CPU. */
const AUTO_ORDER: readonly ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

/** Why a provider may be missing, appended to the error so the user knows what to do. */
const PROVIDER_HINTS: Record<ExecutionProvider, string> = {
  cpu: '',
  cuda:
    'onnxruntime-node ships CUDA support as a separate download: re-run its install script with ' +
    'ONNXRUNTIME_NODE_INSTALL=cuda12 where that download is reachable, and install CUDA 12 + cuDNN 9.',
  webgpu: 'WebGPU needs a GPU with a working Vulkan driver (Linux) or D3D12/Metal.',
};

export interface SessionSettings {
  device?: Device;
  intraOpThreads?: number;
}

// ORT logs a provider's load failure at error level before throwing; the thrown error is what we
// report, so keep its logger to fatal messages.
ort.env.logLevel = 'fatal';

function sessionOptions(provider: ExecutionProvider, intraOpThreads: number | undefined): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(intraOpThreads === undefined ? {} : { intraOpNumThreads: intraOpThreads }),
    logSeverityLevel: 4,
    // onnxruntime's intra-op threads spin between operators (fast hand-offs between the many
    // small operators of a batch-1 run) and, by default, keep spinning after a run returns, which
    // burns the CPU that sharp decodes the next images on. force_spinning_stop keeps the first and
    // stops the second: measured in docs/vision.md against spinning off (batch 1: +4% fp32, +12% q8
    // end to end; batch 16 unchanged).
    extra: { session: { force_spinning_stop: '1' } },
  };
}

export function validateSessionSettings(settings: SessionSettings): void {
  if (settings.device !== undefined && !DEVICES.includes(settings.device)) {
    throw invalidArgument('device', `one of ${DEVICES.join(', ')}`, settings.device);
  }
  const threads = settings.intraOpThreads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw invalidArgument('intraOpThreads', 'a positive integer', threads);
  }
}

/**
 * Creates a session for one ONNX file. An explicit device uses that provider or fails with the
 * reason (onnxruntime never falls back by itself); `auto` tries CUDA, then WebGPU, then CPU.
 * Returns the provider that was actually used.
 */
export async function createSession(
  path: string,
  settings: SessionSettings,
): Promise<{ session: ort.InferenceSession; provider: ExecutionProvider }> {
  validateSessionSettings(settings);
  const device = settings.device ?? 'cpu';
  const candidates: readonly ExecutionProvider[] = device === 'auto' ? AUTO_ORDER : [device];
  const failures: string[] = [];
  for (const provider of candidates) {
    try {
      const session = await ort.InferenceSession.create(path, sessionOptions(provider, settings.intraOpThreads));
      return { session, provider };
    } catch (error) {
      // The CPU provider is always present, so a CPU failure means the file itself is bad.
      if (provider === 'cpu') {
        throw new VigilInputError(`${path}: not a loadable ONNX model (${firstLine(errorMessage(error))})`, {
          subject: path,
          cause: error,
        });
      }
      failures.push(`${provider}: ${firstLine(errorMessage(error))}`);
    }
  }
  const hint = PROVIDER_HINTS[device as ExecutionProvider];
  throw new VigilInputError(
    `The ${device} execution provider is unavailable for ${path}: ${failures.join('; ')}.${hint ? ` ${hint}` : ''}`,
    { subject: 'device' },
  );
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}
