import { describe, expect, it } from 'vitest';
import { labelsFromConfig } from '../../src/vision/model.js';

describe('id2label for detectors (labelsFromConfig with sparse)', () => {
  it('keeps DETR COCO-style ids that skip numbers and names the holes LABEL_<index>', () => {
    const labels = labelsFromConfig({ id2label: { '0': 'N/A', '1': 'person', '3': 'car' } }, 'config.json', { sparse: true });
    expect(labels).toEqual(['N/A', 'person', 'LABEL_2', 'car']);
  });

  it('without sparse, rejects ids beyond 0..n-1 naming the file and the key', () => {
    expect(() => labelsFromConfig({ id2label: { '0': 'a', '2': 'b' } }, 'm/config.json')).toThrow(/m\/config\.json: expected id2label keys 0\.\.1 .*"2"/);
  });

  it('rejects a non-integer key or a non-string label in either mode', () => {
    expect(() => labelsFromConfig({ id2label: { x: 'a' } }, 'c.json', { sparse: true })).toThrow(/c\.json: expected id2label keys to be class indices/);
    expect(() => labelsFromConfig({ id2label: { '0': 3 } }, 'c.json', { sparse: true })).toThrow(/c\.json/);
    expect(() => labelsFromConfig({ id2label: [] }, 'c.json', { sparse: true })).toThrow(/an object of class index/);
  });
});
