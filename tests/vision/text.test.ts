import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedTexts, loadModel } from '../../src/vision/index.js';
import { TextTokenizer } from '../../src/vision/text.js';
import { cosine, TINY } from './helpers.js';

const spec = JSON.parse(readFileSync(join(TINY.clip, 'tokenizer.json'), 'utf8'));
const BOS = 0;
const EOS = 1;

describe('TextTokenizer', () => {
  it('wraps text in the post-processor special tokens', () => {
    const tokenizer = new TextTokenizer(spec, 'tokenizer.json', { contextLength: 77, fixedLength: null });
    const ids = tokenizer.encode('A photo of red');
    expect(ids[0]).toBe(BOS);
    expect(ids.at(-1)).toBe(EOS);
    expect(ids).toHaveLength(6);
  });

  it('truncates to the context but keeps the end token (the budget excludes special tokens)', () => {
    // tokenizer.json declares max_length 12; a smaller context wins.
    const tokenizer = new TextTokenizer(spec, 'tokenizer.json', { contextLength: 5, fixedLength: null });
    const ids = tokenizer.encode('a photo of red green blue square');
    expect(ids).toEqual([BOS, ...new TextTokenizer(spec, 't', { contextLength: 77, fixedLength: null }).encode('a photo of').slice(1, -1), EOS]);
    expect(new TextTokenizer(spec, 't', { contextLength: 77, fixedLength: null }).maxLength).toBe(12);
  });

  it('maps out-of-vocabulary words to the unknown token', () => {
    const tokenizer = new TextTokenizer(spec, 't', { contextLength: 77, fixedLength: null });
    expect(tokenizer.encode('zebra')).toEqual([BOS, 2, EOS]);
  });

  it('pads a batch to its longest text with <|endoftext|> and a zero attention mask', () => {
    const tokenizer = new TextTokenizer(spec, 't', { contextLength: 77, fixedLength: null });
    const batch = tokenizer.encodeBatch(['red', 'a photo of red']);
    expect(batch.length).toBe(6);
    expect(batch.inputIds.slice(0, 6)).toEqual([BOS, tokenizer.encode('red')[1], EOS, EOS, EOS, EOS]);
    expect(batch.attentionMask).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('honours a declared padding (Fixed length, pad id, left direction)', () => {
    const padded = { ...spec, padding: { strategy: { Fixed: 8 }, direction: 'Left', pad_id: 7, pad_type_id: 0, pad_token: 'x' } };
    const tokenizer = new TextTokenizer(padded, 't', { contextLength: 77, fixedLength: null });
    const batch = tokenizer.encodeBatch(['red']);
    expect(batch.length).toBe(8);
    expect(batch.inputIds.slice(0, 5)).toEqual([7, 7, 7, 7, 7]);
    expect(batch.attentionMask).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it('pads to the graph’s fixed sequence length when it has one', () => {
    const tokenizer = new TextTokenizer(spec, 't', { contextLength: 77, fixedLength: 10 });
    expect(tokenizer.encodeBatch(['red']).length).toBe(10);
    expect(tokenizer.maxLength).toBe(10);
  });
});

describe('embedTexts', () => {
  it('returns L2-normalised embeddings that do not depend on batch padding', async () => {
    const model = await loadModel(TINY.clip);
    if (model.kind !== 'clip') throw new Error('expected clip');
    const [alone] = await embedTexts(model, ['red']);
    const [padded] = await embedTexts(model, ['red', 'a photo of the red square']);
    expect(Math.hypot(...alone)).toBeCloseTo(1, 5);
    expect(cosine(alone, padded)).toBeGreaterThan(0.99999);
    await model.release();
  });
});
