// The measured-runs file: the shipped data parses whole; bad data is one InputError naming the line and column.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCoverage, MIN_ROWS_PER_PARAM } from '../../../../compiler/gpu/calibrate.js';
import { MEASURED_COLUMNS, parseMeasuredCsv } from '../../../../compiler/gpu/measured.js';
import { catchInputError as inputError } from '../../inputError.js';

const REPO = join(import.meta.dirname, '../../../..');
const SHIPPED = readFileSync(join(REPO, 'data/gpu-measured/nim-llama3.csv'), 'utf8');
const SMALL = readFileSync(join(REPO, 'test/fixtures/gpu-measured-small.csv'), 'utf8');
const HEADER = MEASURED_COLUMNS.join(',');
const GOOD = 'llama3-8b-instruct,H100_80GB_HBM3,1,fp16,1,200,200,12.62,7.386,134.92,134.9';

describe('the shipped data', () => {
  it('parses every one of its 787 rows, in milliseconds converted to seconds, with the emulator names', () => {
    const runs = parseMeasuredCsv(SHIPPED, 'nim');
    expect(runs).toHaveLength(787);
    const first = runs[0];
    expect(first).toMatchObject({ line: 2, model: 'llama-3.1-70b', gpu: 'a100', dtype: 'bf16', gpus: 4, concurrency: 1, inputTokens: 200, outputTokens: 200 });
    expect(first.ttftSeconds).toBeCloseTo(0.066652, 9);
    expect(new Set(runs.map((r) => r.gpu))).toEqual(new Set(['a100', 'h100']));
    expect(new Set(runs.map((r) => r.dtype))).toEqual(new Set(['bf16', 'fp8']));
    expect(() => checkCoverage(runs, 'nim')).not.toThrow();
  });
});

describe('bad data', () => {
  const csv = (...lines: string[]) => [HEADER, ...lines].join('\n') + '\n';

  it('a wrong, missing or extra column', () => {
    expect(inputError(() => parseMeasuredCsv(HEADER.replace('ttft_ms', 'ttft_ns') + '\n' + GOOD, 'd.csv')).message).toBe(
      `column "ttft_ns" where "ttft_ms" belongs (d.csv: line 1, column 8): the header must be ${HEADER}`,
    );
    expect(inputError(() => parseMeasuredCsv(HEADER.replace(',tok_s_total', '') + '\n' + GOOD, 'd.csv')).message).toBe(`missing column "tok_s_total" (d.csv: line 1, column 11): the header must be ${HEADER}`);
    expect(inputError(() => parseMeasuredCsv(HEADER + ',power_w\n' + GOOD, 'd.csv')).message).toMatch(/^unexpected column "power_w" \(d\.csv: line 1, column 12\)/);
    expect(inputError(() => parseMeasuredCsv(csv(GOOD, GOOD.replace(',134.9', '')), 'd.csv')).message).toBe('10 fields where the header has 11 (d.csv: line 3, column 11): give one value per column, comma-separated');
  });

  it('a unit mismatch: nanoseconds where milliseconds belong', () => {
    const ns = GOOD.replace(',7.386,', ',7386000,');
    expect(inputError(() => parseMeasuredCsv(csv(GOOD, ns), 'd.csv')).message).toBe(
      'unit mismatch: above 10000 ms, not a plausible time in milliseconds (nanoseconds?): 7386000 (d.csv: line 3, column itl_ms): give the time in milliseconds',
    );
  });

  it('an unknown GPU, model or precision, a value that is not a number', () => {
    expect(inputError(() => parseMeasuredCsv(csv(GOOD.replace('H100_80GB_HBM3', 'V100')), 'd.csv')).message).toBe('unknown value "V100" (d.csv: line 2, column gpu): use one of A100-SXM4-80GB, H100_80GB_HBM3');
    expect(inputError(() => parseMeasuredCsv(csv(GOOD.replace('llama3-8b', 'mistral-7b')), 'd.csv')).message).toMatch(/^unknown value "mistral-7b-instruct" \(d\.csv: line 2, column model\): use one of llama3-8b-instruct/);
    expect(inputError(() => parseMeasuredCsv(csv(GOOD.replace('fp16', 'int4')), 'd.csv')).message).toBe('unknown value "int4" (d.csv: line 2, column precision): use one of fp16, bf16, fp8');
    expect(inputError(() => parseMeasuredCsv(csv(GOOD.replace(',12.62,', ',fast,')), 'd.csv')).message).toBe('"fast" is not a number (d.csv: line 2, column ttft_ms): give a number');
    expect(inputError(() => parseMeasuredCsv(csv(GOOD.replace(',1,200,', ',0,200,')), 'd.csv')).message).toMatch(/\(d\.csv: line 2, column concurrency\)/);
  });

  it('too few rows to fit a parameter: some fp8 rows, but fewer than the fit needs', () => {
    const runs = parseMeasuredCsv(SMALL, 'small.csv');
    expect(() => checkCoverage(runs, 'small.csv')).not.toThrow();
    // Keep 3 fp8 rows of the shipped 264: fp8's terms are then touched but not determined.
    let fp8 = 0;
    const lines = SHIPPED.trim()
      .split('\n')
      .filter((l) => !l.includes(',fp8,') || ++fp8 <= 3);
    const few = parseMeasuredCsv(lines.join('\n'), 'few.csv');
    const lineNos = few.filter((r) => r.dtype === 'fp8').map((r) => r.line);
    expect(inputError(() => checkCoverage(few, 'few.csv')).message).toBe(
      `too few rows to fit kvFp8HbmFraction on h100: 3, the fit needs ${MIN_ROWS_PER_PARAM} (few.csv: lines ${lineNos.join(', ')}, column precision): add rows so at least ${MIN_ROWS_PER_PARAM} inform it, or remove these 3`,
    );
    expect(inputError(() => checkCoverage(few.slice(0, 10), 'tiny.csv')).message).toMatch(/^too few rows to fit a100: 10, the fit needs \d+ \(tiny\.csv: lines 2, 3, .*, column gpu\)/);
  });

  it('an empty file or a header alone', () => {
    expect(inputError(() => parseMeasuredCsv('', 'e.csv')).message).toMatch(/^empty file \(e\.csv\)/);
    expect(inputError(() => parseMeasuredCsv(HEADER + '\n', 'e.csv')).message).toBe('no data rows (e.csv): give at least one measured run under the header');
  });
});
