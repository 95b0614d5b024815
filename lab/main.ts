// The lab page: knobs bound to the state in the URL, each output computed in its own Web Worker lane (lab/lanes.ts),
// drawn from the workers' plain results (lab/render.ts).
import { listFabricPresets, getFabricPreset } from '../fabric/spec/index.js';
import { listGpuPresets } from '../fabric/gpu/spec.js';
import { listPresets } from '../compiler/model/presets.js';
import type { DroppedModel, MeshMap, Outcome, RunHere, StudyResult } from './compute.js';
import { Lane } from './lanes.js';
import { meshSummary, runReport, studyTable, type NodeRun } from './render.js';
import { DEFAULT_STATE, LAB_KEYS, MESH_KEYS, RUN_KEYS, STUDY_KEYS, queryFromState, runCommandLine, stateFromQuery, type LabKey, type LabState } from './state.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Timings the browser test reads (ms since navigation start). */
const timings = { firstChartMs: -1, lastInputMs: -1, lastChartMs: -1, charts: 0, maps: 0, runs: 0 };
(window as unknown as { labTimings: typeof timings }).labTimings = timings;

const parsed = stateFromQuery(location.search);
const state: LabState = parsed.state;
let dropped: DroppedModel | null = null;
let nodeRuns: NodeRun[] = [];

/** Wafer overrides: 0 in the state means "the preset's value"; the knob then shows the preset's value. */
const OVERRIDES: Partial<Record<LabKey, (w: string) => number>> = {
  sramKiB: (w) => getFabricPreset(w).sramBytesPerTile / 1024,
  clockMHz: (w) => getFabricPreset(w).clockHz / 1e6,
  gridW: (w) => getFabricPreset(w).widthTiles,
  gridH: (w) => getFabricPreset(w).heightTiles,
  simdF16: (w) => getFabricPreset(w).simdWidth.f16,
  simdF32: (w) => getFabricPreset(w).simdWidth.f32,
  simdInt8: (w) => getFabricPreset(w).simdWidth.int8,
};

function showError(id: string, message: string | null): void {
  const e = $(id);
  e.hidden = message === null;
  e.textContent = message ?? '';
}

function fillSelect(id: string, options: { value: string; label: string }[]): void {
  $<HTMLSelectElement>(id).innerHTML = options.map((o) => `<option value="${o.value}">${o.label}</option>`).join('');
}

function knob(key: LabKey): HTMLInputElement | HTMLSelectElement {
  return $<HTMLInputElement>(key);
}

/** Puts the state's values into the knobs (overrides at 0 show the preset's value). */
function showState(): void {
  for (const key of LAB_KEYS) {
    const el = knob(key);
    const preset = OVERRIDES[key];
    const v = preset && state[key] === 0 ? preset(state.wafer) : state[key];
    el.value = String(v);
    const out = document.getElementById(`${key}-out`);
    if (out) out.textContent = key === 'sramKiB' ? `${v} KiB` : key === 'clockMHz' ? `${v} MHz` : String(v);
  }
}

function readKnob(key: LabKey): number | string {
  const raw = knob(key).value;
  if (typeof DEFAULT_STATE[key] === 'string') return raw;
  const v = Number(raw);
  const preset = OVERRIDES[key];
  if (preset && v === preset(state.wafer)) return 0;
  return v;
}

const lanes = {
  study: new Lane($('study-status')),
  sweep: new Lane($('sweep-status')),
  map: new Lane($('map-status')),
  run: new Lane($('run-status')),
  drop: new Lane($('drop-progress')),
};

async function updateStudy(): Promise<void> {
  lanes.sweep.cancel();
  const s = { ...state };
  const r = await lanes.study.run<Outcome<StudyResult>>('computing the table and chart', (api, progress) => api.study(s, dropped, false, progress));
  if (!r) return;
  if (!r.ok) {
    showError('study-error', r.error);
    return;
  }
  showError('study-error', null);
  $('chart').innerHTML = r.value.chartSvg;
  $('table').innerHTML = studyTable(r.value);
  timings.charts++;
  timings.lastChartMs = performance.now();
  if (timings.firstChartMs < 0) timings.firstChartMs = timings.lastChartMs;
  const sweep = await lanes.sweep.run<Outcome<StudyResult>>('sweeping every model preset and batch size for the chart', (api, progress) => api.study(s, dropped, true, progress));
  if (sweep?.ok) $('chart').innerHTML = sweep.value.chartSvg;
}

async function updateMap(): Promise<void> {
  lanes.run.cancel();
  $('run-result').innerHTML = '';
  const s = { ...state };
  const r = await lanes.map.run<Outcome<MeshMap>>('compiling onto the faulty mesh', (api) => api.meshMap(s, dropped));
  if (!r) return;
  showError('mesh-error', r.ok ? null : r.error);
  $('mesh-summary').textContent = r.ok ? meshSummary(r.value) : '';
  $('map').innerHTML = r.ok ? r.value.svg : '';
  timings.maps++;
}

async function runHere(): Promise<void> {
  const s = { ...state };
  const useGpuJs = $<HTMLInputElement>('use-gpujs').checked;
  $('run-result').innerHTML = '';
  showError('run-error', null);
  const r = await lanes.run.run<Outcome<RunHere>>('running cycle by cycle', (api, progress) => api.runHere(s, dropped, useGpuJs, progress));
  if (!r) return;
  if (!r.ok) {
    showError('run-error', r.error);
    return;
  }
  const command = runCommandLine(s);
  $('run-result').innerHTML = runReport(r.value, command, nodeRuns.find((n) => n.command === command) ?? null);
  timings.runs++;
}

function onKnob(key: LabKey): void {
  const v = readKnob(key);
  if (v === state[key]) return;
  (state as Record<LabKey, number | string>)[key] = v;
  if (key === 'wafer') for (const k of Object.keys(OVERRIDES) as LabKey[]) (state as Record<LabKey, number | string>)[k] = 0;
  showState();
  history.replaceState(null, '', `?${queryFromState(state)}`);
  timings.lastInputMs = performance.now();
  if (STUDY_KEYS.includes(key)) void updateStudy().catch(internalError);
  if (MESH_KEYS.includes(key)) void updateMap().catch(internalError);
  else if (RUN_KEYS.includes(key)) lanes.run.cancel();
}

function internalError(e: unknown): void {
  // Browsers start no Web Worker for a page opened from a file: say how to open it instead.
  if (location.protocol === 'file:') showError('study-error', 'error: the page is opened from a file (address): serve its folder over http — npx wafer lab, or any static server');
  else showError('study-error', `internal error: ${e instanceof Error ? e.message : String(e)}`);
}

async function takeFiles(files: FileList | File[]): Promise<void> {
  const list = Array.from(files as ArrayLike<File>);
  const config = list.find((f) => f.name.endsWith('.json'));
  const weights = list.find((f) => f.name.endsWith('.safetensors'));
  if (!config) {
    showError('drop-error', `error: no config.json among the dropped files (model files): drop config.json, with model.safetensors for a small model`);
    return;
  }
  const d: DroppedModel = { configName: config.name, configText: await config.text(), safetensorsName: weights?.name ?? null, safetensors: weights ? new Uint8Array(await weights.arrayBuffer()) : null };
  const r = await lanes.drop.run<Outcome<string>>('reading the dropped model', (api) => api.describeDropped(d));
  if (!r) return;
  showError('drop-error', r.ok ? null : r.error);
  $('drop-status').textContent = r.ok ? r.value : '';
  if (!r.ok) return;
  dropped = d;
  if (!$<HTMLSelectElement>('model').querySelector('option[value=dropped]')) $('model').insertAdjacentHTML('afterbegin', '<option value="dropped">the dropped model</option>');
  knob('model').value = 'dropped';
  onKnob('model');
  if (d.safetensors) {
    knob('runModel').value = 'dropped';
    onKnob('runModel');
  }
}

function bind(): void {
  for (const key of LAB_KEYS) knob(key).addEventListener(knob(key).type === 'range' ? 'input' : 'change', () => onKnob(key));
  $('reset-wafer').addEventListener('click', () => {
    for (const k of Object.keys(OVERRIDES) as LabKey[]) (state as Record<LabKey, number | string>)[k] = 0;
    showState();
    history.replaceState(null, '', `?${queryFromState(state)}`);
    void updateStudy().catch(internalError);
  });
  $('run').addEventListener('click', () => void runHere().catch((e) => showError('run-error', `internal error: ${e instanceof Error ? e.message : String(e)}`)));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer) void takeFiles(e.dataTransfer.files);
  });
  $<HTMLInputElement>('files').addEventListener('change', (e) => {
    const files = (e.target as HTMLInputElement).files;
    if (files) void takeFiles(files);
  });
}

function start(): void {
  fillSelect('model', listPresets().map((p) => ({ value: p.name, label: p.name })));
  fillSelect('wafer', listFabricPresets().map((w) => ({ value: w, label: w })));
  fillSelect('gpu', listGpuPresets().map((g) => ({ value: g.name, label: g.name })));
  const known: [LabKey, string[]][] = [
    ['model', listPresets().map((p) => p.name)],
    ['wafer', listFabricPresets()],
    ['gpu', listGpuPresets().map((g) => g.name)],
  ];
  for (const [key, names] of known) {
    if (names.includes(String(state[key])) || (key === 'model' && state.model === 'dropped')) continue;
    parsed.problems.push(`${key}=${state[key]} is not a preset`);
    (state as Record<LabKey, number | string>)[key] = DEFAULT_STATE[key];
  }
  if (state.model === 'dropped') {
    parsed.problems.push('model=dropped: dropped files are not kept in the link; the default model is shown');
    state.model = DEFAULT_STATE.model;
  }
  if (state.runModel === 'dropped') state.runModel = DEFAULT_STATE.runModel;
  showError('url-problems', parsed.problems.length ? `ignored in the address: ${parsed.problems.join('; ')}` : null);
  showState();
  bind();
  // Node's results for the configurations the site build ran (absent when the page is opened from a file).
  fetch('node-runs.json')
    .then((r) => (r.ok ? (r.json() as Promise<NodeRun[]>) : []))
    .then((runs) => (nodeRuns = runs))
    .catch(() => undefined);
  void updateStudy().catch(internalError);
  void updateMap().catch(internalError);
}

start();
