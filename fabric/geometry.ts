// Mesh coordinates. Tile index = y * width + x. Port numbers follow PORTS (below; the program format, fabric/isa, names ports by them):
// 0 = ramp, 1 = N (toward y-1), 2 = E (x+1), 3 = S (y+1), 4 = W (x-1). Everything here is plain integer arithmetic
// on numbers and typed arrays, so the engine's hot loops can use it (or its precomputed tables) directly.
import { InputError } from './errors.js';

/** N = toward y-1, S = toward y+1, E = toward x+1, W = toward x-1; ramp = this tile's compute engine. */
export type Port = 'ramp' | 'N' | 'E' | 'S' | 'W';
export const PORTS: readonly Port[] = ['ramp', 'N', 'E', 'S', 'W'];

export const PORT_RAMP = 0;
export const PORT_N = 1;
export const PORT_E = 2;
export const PORT_S = 3;
export const PORT_W = 4;
/** A port number 0..4. */
export type PortIndex = 0 | 1 | 2 | 3 | 4;
/** The four mesh directions (no ramp), in port order. */
export const MESH_PORTS: readonly PortIndex[] = [PORT_N, PORT_E, PORT_S, PORT_W];
/** x and y steps per port number (ramp: none). */
export const PORT_DX: Int8Array = Int8Array.from([0, 0, 1, 0, -1]);
export const PORT_DY: Int8Array = Int8Array.from([0, -1, 0, 1, 0]);
/** The port a wavelet arrives on after leaving through port p (N <-> S, E <-> W, ramp <-> ramp). */
export const OPPOSITE_PORT: Uint8Array = Uint8Array.from([0, 3, 4, 1, 2]);

export function portName(p: number): Port {
  const name = PORTS[p];
  if (name === undefined) throw new RangeError(`port number ${p} is not in 0..4`);
  return name;
}

export function portIndex(port: Port): PortIndex {
  return PORTS.indexOf(port) as PortIndex;
}

export interface MeshSize {
  width: number;
  height: number;
}

export function tileIndex(x: number, y: number, width: number): number {
  return y * width + x;
}

export function tileX(i: number, width: number): number {
  return i % width;
}

export function tileY(i: number, width: number): number {
  return Math.floor(i / width);
}

export function inMesh(x: number, y: number, width: number, height: number): boolean {
  return x >= 0 && y >= 0 && x < width && y < height;
}

/** The tile one step through mesh port p (1..4) from tile i, or -1 off the edge (or for the ramp). */
export function neighbour(i: number, p: number, width: number, height: number): number {
  if (p < 1 || p > 4) return -1;
  const x = (i % width) + PORT_DX[p];
  const y = Math.floor(i / width) + PORT_DY[p];
  return inMesh(x, y, width, height) ? y * width + x : -1;
}

export function manhattan(a: number, b: number, width: number): number {
  return Math.abs((a % width) - (b % width)) + Math.abs(Math.floor(a / width) - Math.floor(b / width));
}

/** The mesh port of tile a that leads to its neighbour b, or -1 when they are not neighbours. */
export function portTowards(a: number, b: number, width: number): number {
  const dx = (b % width) - (a % width);
  const dy = Math.floor(b / width) - Math.floor(a / width);
  if (dy === 0 && dx === 1) return PORT_E;
  if (dy === 0 && dx === -1) return PORT_W;
  if (dx === 0 && dy === 1) return PORT_S;
  if (dx === 0 && dy === -1) return PORT_N;
  return -1;
}

/** "(x,y)" for messages. */
export function tileName(i: number, width: number): string {
  return `(${i % width},${Math.floor(i / width)})`;
}

/**
 * Neighbour table, struct-of-arrays: `neighbours[i * 5 + p]` = the tile through port p of tile i, -1 off the edge;
 * p = 0 (ramp) is always -1. Build once per mesh, index in hot loops.
 */
export function neighbourTable(width: number, height: number): Int32Array {
  const tiles = width * height;
  const out = new Int32Array(tiles * 5).fill(-1);
  for (let i = 0; i < tiles; i++) {
    for (let p = 1; p <= 4; p++) out[i * 5 + p] = neighbour(i, p, width, height);
  }
  return out;
}

/** Throws an InputError unless width and height are positive integers. */
export function assertMeshSize(width: number, height: number, where: string): void {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new InputError(`mesh ${name} must be a positive integer, got ${v}`, where, 'give at least 1 tile');
  }
}

/** Parses "16x16" (or "16X16") into a mesh size; a bad value is an InputError naming `option`. */
export function parseMeshSize(value: string, option: string): MeshSize {
  const m = /^\s*(\d+)\s*[xX]\s*(\d+)\s*$/.exec(value);
  if (!m) throw new InputError(`not a mesh size: "${value}"`, option, 'give WIDTHxHEIGHT, e.g. 16x16');
  const width = Number(m[1]);
  const height = Number(m[2]);
  assertMeshSize(width, height, option);
  return { width, height };
}
