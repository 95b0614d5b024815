// comlink ships no `exports` map: its Node adapter is imported by file (shared/notes/toolchain.md pitfall 4).
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import nodeEndpoint from 'comlink/dist/esm/node-adapter';
  export default nodeEndpoint;
}
