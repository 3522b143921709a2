import { Tokenizer } from '@huggingface/tokenizers';
import { VigilInputError, describeValue } from '../core/errors.js';

/** CLIP's text context: 77 tokens including the start and end tokens. */
export const CLIP_CONTEXT_LENGTH = 77;

/** Token ids and attention mask for a batch, padded to a common length (row-major batch × length). */
export interface TokenBatch {
  inputIds: number[];
  attentionMask: number[];
  batchSize: number;
  length: number;
}

interface Padding {
  /** null: pad to the longest text of the batch. */
  fixed: number | null;
  left: boolean;
  padId: number;
  multipleOf: number | null;
}

/**
 * A tokenizer.json (Hugging Face tokenizers format) with the padding and truncation it declares,
 * which @huggingface/tokenizers itself does not apply: truncation keeps the special tokens (as the
 * Rust tokenizers do, the budget for the text is max_length minus the added specials), padding is
 * BatchLongest or Fixed with the declared pad id (CLIP's `<|endoftext|>` when none is declared).
 */
export class TextTokenizer {
  readonly maxLength: number;
  private readonly tokenizer: Tokenizer;
  private readonly padding: Padding;
  private readonly prefix: number[];
  private readonly suffix: number[];
  private readonly unknownId: number | undefined;

  constructor(json: unknown, file: string, options: { contextLength: number; fixedLength: number | null }) {
    if (json === null || typeof json !== 'object' || (json as { model?: unknown }).model === undefined) {
      throw new VigilInputError(`${file}: expected a Hugging Face tokenizer.json with a "model" section`, { subject: file });
    }
    const spec = json as Record<string, unknown>;
    try {
      this.tokenizer = new Tokenizer(spec, {});
    } catch (error) {
      throw new VigilInputError(`${file}: cannot load tokenizer (${error instanceof Error ? error.message : String(error)})`, {
        subject: file,
        cause: error,
      });
    }
    const truncation = spec.truncation as { max_length?: unknown; direction?: unknown } | null | undefined;
    const declaredMax = typeof truncation?.max_length === 'number' ? truncation.max_length : options.contextLength;
    this.maxLength = Math.min(declaredMax, options.contextLength, options.fixedLength ?? Infinity);
    this.padding = parsePadding(spec.padding, file, this.tokenizer, options.fixedLength);

    // The special tokens the post-processor wraps a text in, found by encoding a probe with and
    // without them; truncation must keep them.
    const probe = 'a';
    const bare = this.tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const full = this.tokenizer.encode(probe, { add_special_tokens: true }).ids;
    const start = indexOfSequence(full, bare);
    this.prefix = start < 0 ? [] : full.slice(0, start);
    this.suffix = start < 0 ? [] : full.slice(start + bare.length);
    const model = spec.model as { unk_token?: unknown };
    this.unknownId = typeof model.unk_token === 'string' ? this.tokenizer.token_to_id(model.unk_token) : undefined;
  }

  /** Token ids of one text with special tokens, truncated to maxLength. */
  encode(text: string): number[] {
    // The package's own .d.ts imports do not resolve under NodeNext, so the element type is stated.
    const raw: (number | undefined)[] = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const ids = raw.map((id, i) => {
      if (id !== undefined) return id;
      if (this.unknownId !== undefined) return this.unknownId;
      throw new VigilInputError(`Cannot tokenize ${describeValue(text)}: token ${i} is not in the vocabulary`, {
        subject: 'text',
      });
    });
    const budget = Math.max(0, this.maxLength - this.prefix.length - this.suffix.length);
    return [...this.prefix, ...ids.slice(0, budget), ...this.suffix];
  }

  encodeBatch(texts: readonly string[]): TokenBatch {
    const encoded = texts.map((text) => this.encode(text));
    let length = this.padding.fixed ?? Math.max(1, ...encoded.map((ids) => ids.length));
    if (this.padding.multipleOf !== null) length = Math.ceil(length / this.padding.multipleOf) * this.padding.multipleOf;
    const inputIds: number[] = [];
    const attentionMask: number[] = [];
    for (const ids of encoded) {
      const pad = length - ids.length;
      const padIds = new Array<number>(pad).fill(this.padding.padId);
      const padMask = new Array<number>(pad).fill(0);
      const ones = new Array<number>(ids.length).fill(1);
      if (this.padding.left) {
        inputIds.push(...padIds, ...ids);
        attentionMask.push(...padMask, ...ones);
      } else {
        inputIds.push(...ids, ...padIds);
        attentionMask.push(...ones, ...padMask);
      }
    }
    return { inputIds, attentionMask, batchSize: texts.length, length };
  }
}

function parsePadding(raw: unknown, file: string, tokenizer: Tokenizer, fixedLength: number | null): Padding {
  const fallbackPad = tokenizer.token_to_id('<|endoftext|>') ?? 0;
  if (raw === null || raw === undefined) return { fixed: fixedLength, left: false, padId: fallbackPad, multipleOf: null };
  const spec = raw as { strategy?: unknown; direction?: unknown; pad_id?: unknown; pad_to_multiple_of?: unknown };
  let fixed: number | null = fixedLength;
  if (spec.strategy !== null && typeof spec.strategy === 'object' && 'Fixed' in spec.strategy) {
    const n = (spec.strategy as { Fixed: unknown }).Fixed;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new VigilInputError(`${file}: expected padding.strategy.Fixed to be a positive integer but received ${describeValue(n)}`, {
        subject: file,
      });
    }
    fixed = fixedLength ?? n;
  }
  return {
    fixed,
    left: spec.direction === 'Left',
    padId: typeof spec.pad_id === 'number' ? spec.pad_id : fallbackPad,
    multipleOf: typeof spec.pad_to_multiple_of === 'number' && spec.pad_to_multiple_of > 0 ? spec.pad_to_multiple_of : null,
  };
}

function indexOfSequence(haystack: readonly number[], needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
