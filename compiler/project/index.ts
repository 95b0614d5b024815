// Projection of real-size models onto full wafers and multi-wafer pipelines (see project.ts).
export {
  projectWafer,
  sweepGrid,
  sweepGrids,
  spreadExperts,
  PROJECT_DTYPES,
  KV_DTYPES,
  PROJECTION_METHOD,
  DEFAULT_CONTEXT,
  DEFAULT_PROMPT_LENGTH,
  type ProjectDtype,
  type KvDtype,
  type ProjectOptions,
  type ProjectionReport,
  type ProjectionBreakdown,
  type ProjectionDetail,
  type ProjectionStage,
  type GridPoint,
} from './project.js';
export { projectionGraph, type ProjectionGraph } from './graph.js';
