// What produced a figure: every tokens/s a study hands to a table, a chart or --json carries one of these, so the same
// number reads the same everywhere and a reader can tell a cycle-by-cycle run on a faulty toy mesh from a real-size
// projection on a fault-free wafer.

/** How a figure was obtained, from most to least direct. */
export const SOURCES = ['mesh run', 'mesh schedule estimate', 'projection', 'GPU emulator'] as const;
export type Source = (typeof SOURCES)[number];

export interface FaultSetting {
  /** Share of defective tiles drawn at random (null: a fault map file). */
  density: number | null;
  seed: number | null;
  /** The fault map file, when one was given. */
  file: string | null;
  /** Tiles the repair left unusable on the mesh the figure ran on. */
  deadTiles: number;
}

export interface Setting {
  source: Source;
  batch: number;
  /** Prompt tokens behind the figure (null: a decode step alone, no prefill). */
  promptLength: number | null;
  /** Positions attended at the decode step the figure times (a mesh run: the last position it reached). */
  contextLength: number;
  dtype: string;
  /** Wafers only: the share of usable tiles the compiler spread the model over (0: packed as tightly as it fits). */
  spread: number | null;
  /** Wafers only, unspread: whether the stages' blocks took balanced shares of the tile budget (absent: packed). */
  balanced?: boolean;
  /** Wafers only: tiles each hub is split over (null: the compiler's own choice, or a GPU). */
  hubSlices: number | null;
  /** null: a fault-free wafer (or a GPU). */
  faults: FaultSetting | null;
}

/** One line a person reads: "projection, batch 1, prompt 512, context 1024, bf16, blocks balanced, 32 hub slices, fault-free". */
export function describeSetting(s: Setting): string {
  const parts = [s.source === 'mesh run' ? 'mesh run (every tile simulated, cycle by cycle)' : s.source, `batch ${s.batch}`];
  if (s.promptLength !== null) parts.push(`prompt ${s.promptLength}`);
  parts.push(`context ${s.contextLength}`, s.dtype);
  if (s.spread !== null) parts.push(s.spread !== 0 ? `spread ${s.spread}` : s.balanced ? 'blocks balanced' : 'packed');
  if (s.hubSlices !== null) parts.push(`${s.hubSlices} hub slices`);
  if (s.spread !== null || s.faults) parts.push(describeFaults(s.faults));
  return parts.join(', ');
}

export function describeFaults(f: FaultSetting | null): string {
  if (!f) return 'fault-free';
  const drawn = f.file !== null ? `faults from ${f.file}` : `${+(100 * (f.density ?? 0)).toPrecision(3)}% defective tiles (seed ${f.seed ?? 0})`;
  return `${drawn}, ${f.deadTiles} dead`;
}

/** The fault setting of a compile from its (already validated) command-line fault options; null: fault-free. */
export function faultSettingOf(o: { faults?: string; faultDensity?: string; seed?: string }, deadTiles: number): FaultSetting | null {
  if (o.faults !== undefined) return { density: null, seed: null, file: o.faults, deadTiles };
  if (o.faultDensity === undefined) return null;
  return { density: Number(o.faultDensity), seed: Number(o.seed ?? '0'), file: null, deadTiles };
}
