import { describe, expect, it } from 'vitest';
import { InputError } from '../../../fabric/errors.js';
import { PORTS } from '../../../fabric/isa/types.js';
import {
  MESH_PORTS,
  OPPOSITE_PORT,
  PORT_E,
  PORT_N,
  PORT_RAMP,
  PORT_S,
  PORT_W,
  assertMeshSize,
  manhattan,
  neighbour,
  neighbourTable,
  parseMeshSize,
  portIndex,
  portName,
  portTowards,
  tileIndex,
  tileName,
  tileX,
  tileY,
} from '../../../fabric/geometry.js';

describe('geometry', () => {
  it('port numbers follow PORTS in the ISA', () => {
    expect([PORT_RAMP, PORT_N, PORT_E, PORT_S, PORT_W].map(portName)).toEqual([...PORTS]);
    expect(PORTS.map(portIndex)).toEqual([0, 1, 2, 3, 4]);
    expect(MESH_PORTS).toEqual([1, 2, 3, 4]);
    expect(Array.from(OPPOSITE_PORT)).toEqual([PORT_RAMP, PORT_S, PORT_W, PORT_N, PORT_E]);
    expect(() => portName(5)).toThrow(RangeError);
  });

  it('tile index is y * width + x and round-trips', () => {
    expect(tileIndex(3, 2, 5)).toBe(13);
    for (let i = 0; i < 35; i++) expect(tileIndex(tileX(i, 7), tileY(i, 7), 7)).toBe(i);
    expect(tileName(13, 5)).toBe('(3,2)');
  });

  it('neighbours: N = y-1, S = y+1, E = x+1, W = x-1, -1 off the edge and for the ramp', () => {
    const w = 4;
    const h = 3;
    const c = tileIndex(1, 1, w);
    expect(neighbour(c, PORT_N, w, h)).toBe(tileIndex(1, 0, w));
    expect(neighbour(c, PORT_S, w, h)).toBe(tileIndex(1, 2, w));
    expect(neighbour(c, PORT_E, w, h)).toBe(tileIndex(2, 1, w));
    expect(neighbour(c, PORT_W, w, h)).toBe(tileIndex(0, 1, w));
    expect(neighbour(c, PORT_RAMP, w, h)).toBe(-1);
    expect(neighbour(0, PORT_N, w, h)).toBe(-1);
    expect(neighbour(0, PORT_W, w, h)).toBe(-1);
    expect(neighbour(tileIndex(3, 2, w), PORT_E, w, h)).toBe(-1);
    expect(neighbour(tileIndex(3, 2, w), PORT_S, w, h)).toBe(-1);
    // A right-edge tile's east neighbour is not the next row's first tile.
    expect(neighbour(tileIndex(3, 0, w), PORT_E, w, h)).toBe(-1);
  });

  it('the neighbour table matches neighbour(), and every link is symmetric', () => {
    const w = 5;
    const h = 4;
    const t = neighbourTable(w, h);
    for (let i = 0; i < w * h; i++) {
      expect(t[i * 5]).toBe(-1);
      for (const p of MESH_PORTS) {
        const j = t[i * 5 + p];
        expect(j).toBe(neighbour(i, p, w, h));
        if (j >= 0) {
          expect(t[j * 5 + OPPOSITE_PORT[p]]).toBe(i);
          expect(portTowards(i, j, w)).toBe(p);
          expect(manhattan(i, j, w)).toBe(1);
        }
      }
    }
  });

  it('manhattan distance and portTowards for non-neighbours', () => {
    expect(manhattan(tileIndex(0, 0, 8), tileIndex(7, 5, 8), 8)).toBe(12);
    expect(portTowards(0, 2, 8)).toBe(-1);
    expect(portTowards(0, 9, 8)).toBe(-1);
  });

  it('parses mesh sizes and names bad ones', () => {
    expect(parseMeshSize('16x8', '--mesh')).toEqual({ width: 16, height: 8 });
    expect(parseMeshSize(' 4X4 ', '--mesh')).toEqual({ width: 4, height: 4 });
    const bad = (v: string): InputError => {
      try {
        parseMeshSize(v, '--mesh');
      } catch (e) {
        return e as InputError;
      }
      throw new Error('no error');
    };
    expect(bad('16by16').message).toBe('not a mesh size: "16by16" (--mesh): give WIDTHxHEIGHT, e.g. 16x16');
    expect(bad('0x4').message).toBe('mesh width must be a positive integer, got 0 (--mesh): give at least 1 tile');
    expect(bad('4x0').message).toBe('mesh height must be a positive integer, got 0 (--mesh): give at least 1 tile');
    expect(() => assertMeshSize(2.5, 3, 'spec')).toThrow('mesh width must be a positive integer, got 2.5 (spec)');
  });
});
