// Repair policies.
//
// remap — as the real wafer (docs/hardware.md#defects-and-redundancy): the physical grid is (width + spareColumns) × (height + spareRows). In each
//   physical row the defective tiles are skipped and logical column x sits on the x-th good tile of the row, so the
//   tiles of a row shift toward the spare columns and software sees a perfect logical rectangle. A row with more
//   defects than spare columns is bypassed whole, using a spare row, while spare rows last; after that the policy
//   fails with an InputError naming the row, its defect count and the spares. A defect is a dead tile, a dead core,
//   or — an assumption — the tile at the east/south end of a dead link (the bypass retires that tile; the bypass
//   wiring itself is assumed healthy, docs/hardware.md#defects-and-redundancy "redundant fabric links").
//   Each logical link then spans some physical distance d ≥ 1 (skipped tiles in the row, skipped rows, and the
//   column offset between two rows shifted differently); it costs (d − 1) × bypassLatencyCycles extra cycles.
// route-around — the logical grid is the physical one and keeps its holes: nothing is placed on an unusable tile and
//   no route crosses a dead router or link (fabric/routing).
import { InputError } from '../errors.js';
import { PORT_E, PORT_N, PORT_S, PORT_W } from '../geometry.js';
import type { FaultMap } from './faultMap.js';
import { assertFaultMapSize } from './analysis.js';

export type RepairPolicy = 'remap' | 'route-around';
export const REPAIR_POLICIES: readonly RepairPolicy[] = ['remap', 'route-around'];

/** The spec fields the repair needs (a FabricSpec has them all). */
export interface RepairGeometry {
  widthTiles: number;
  heightTiles: number;
  spareColumns: number;
  spareRows: number;
  bypassLatencyCycles: number;
}

export interface RemapResult {
  logicalWidth: number;
  logicalHeight: number;
  physicalWidth: number;
  physicalHeight: number;
  /** logicalToPhysical[y * logicalWidth + x] = physical tile index (py * physicalWidth + px). */
  logicalToPhysical: Int32Array;
  /** Physical row of each logical row. */
  physicalRow: Int32Array;
  /** Physical rows bypassed whole (each uses one spare row). */
  skippedRows: number[];
  /** Defective physical tiles inside the rows used (each hidden by a shift). */
  hiddenDefects: number;
  /** Most spare columns any used row needed. */
  maxSpareColumnsUsed: number;
  /** extraLatencyCycles[l * 5 + p]: extra cycles on the link out of logical tile l through port p (0 for none/ramp). */
  extraLatencyCycles: Uint16Array;
  /** Logical links (counted once) whose bypass costs extra cycles, and the largest such cost. */
  linksWithBypass: number;
  maxExtraLatencyCycles: number;
}

/** Physical tiles the remap policy must skip: dead tiles, dead cores, and the east/south end of a dead link. */
export function remapDefects(faults: FaultMap): Uint8Array {
  const bad = new Uint8Array(faults.tiles);
  for (let i = 0; i < faults.tiles; i++) {
    if (faults.tileDead[i] || faults.coreDead[i]) bad[i] = 1;
    if (faults.linkDead[i * 5 + PORT_E]) bad[i + 1] = 1;
    if (faults.linkDead[i * 5 + PORT_S]) bad[i + faults.width] = 1;
  }
  return bad;
}

/** Repairs a physical fault map ((width + spareColumns) × (height + spareRows)) into a perfect logical rectangle. */
export function remapRepair(faults: FaultMap, g: RepairGeometry, where = 'remap repair'): RemapResult {
  const W = g.widthTiles;
  const H = g.heightTiles;
  const PW = W + g.spareColumns;
  const PH = H + g.spareRows;
  assertFaultMapSize(faults, PW, PH, where, `the physical grid (${W}x${H} plus ${g.spareColumns} spare columns and ${g.spareRows} spare rows)`);
  const bad = remapDefects(faults);
  const logicalToPhysical = new Int32Array(W * H);
  const physicalRow = new Int32Array(H);
  const skippedRows: number[] = [];
  let hiddenDefects = 0;
  let maxSpareColumnsUsed = 0;
  let ly = 0;
  for (let py = 0; py < PH && ly < H; py++) {
    let defects = 0;
    for (let px = 0; px < PW; px++) defects += bad[py * PW + px];
    if (defects > g.spareColumns) {
      if (skippedRows.length < g.spareRows) {
        skippedRows.push(py);
        continue;
      }
      throw new InputError(
        `row ${py} has ${defects} defective tiles but only ${g.spareColumns} spare columns` +
          (g.spareRows > 0 ? ` (and all ${g.spareRows} spare rows are used)` : ' (and no spare rows)'),
        where,
        (name) => `use ${name('repair')} route-around, a lower defect density, or a fabric with more spares`,
      );
    }
    hiddenDefects += defects;
    if (defects > maxSpareColumnsUsed) maxSpareColumnsUsed = defects;
    physicalRow[ly] = py;
    let lx = 0;
    for (let px = 0; px < PW && lx < W; px++) {
      if (bad[py * PW + px]) continue;
      logicalToPhysical[ly * W + lx] = py * PW + px;
      lx++;
    }
    ly++;
  }
  // Rows are only skipped while spare rows last, so PH − skipped ≥ H rows were always available.
  const extraLatencyCycles = new Uint16Array(W * H * 5);
  let linksWithBypass = 0;
  let maxExtraLatencyCycles = 0;
  const link = (a: number, pa: number, b: number, pb: number): void => {
    const pA = logicalToPhysical[a];
    const pB = logicalToPhysical[b];
    const d = Math.abs((pA % PW) - (pB % PW)) + Math.abs(Math.floor(pA / PW) - Math.floor(pB / PW));
    const extra = (d - 1) * g.bypassLatencyCycles;
    extraLatencyCycles[a * 5 + pa] = extra;
    extraLatencyCycles[b * 5 + pb] = extra;
    if (d > 1) linksWithBypass++;
    if (extra > maxExtraLatencyCycles) maxExtraLatencyCycles = extra;
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const l = y * W + x;
      if (x + 1 < W) link(l, PORT_E, l + 1, PORT_W);
      if (y + 1 < H) link(l, PORT_S, l + W, PORT_N);
    }
  }
  return {
    logicalWidth: W,
    logicalHeight: H,
    physicalWidth: PW,
    physicalHeight: PH,
    logicalToPhysical,
    physicalRow,
    skippedRows,
    hiddenDefects,
    maxSpareColumnsUsed,
    extraLatencyCycles,
    linksWithBypass,
    maxExtraLatencyCycles,
  };
}
