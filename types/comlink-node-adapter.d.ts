// comlink ships no `exports` map: its Node adapter is imported by file (docs/toolchain.md#comlink-has-no-exports-map).
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import nodeEndpoint from 'comlink/dist/esm/node-adapter';
  export default nodeEndpoint;
}
