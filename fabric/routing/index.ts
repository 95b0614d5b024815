// Routing on the mesh: destination-based tables (dimension order, up*/down*), their deadlock and validity checks,
// and single static paths for the compiler.
export { RoutingTable, buildRoutingTable, ROUTING_ALGORITHMS, UNREACHABLE, MAX_TABLE_TILES, type RoutingAlgorithm } from './table.js';
export { checkDeadlockFree, validateRoutingTable, type DeadlockCheck, type Channel, type TableProblem } from './check.js';
export { routePath, xyRoute, type StaticPath } from './path.js';
