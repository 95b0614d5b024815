// The TypeScript sources of the core's compiler/ and fabric/ layers as syntax trees (the `typescript` package's own
// parser), for tests that hold rules about their shape: function lengths, string literals.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every .ts file under `dirs` (relative to the repository), sorted, as parsed source files. */
export function parseSources(dirs: readonly string[]): ts.SourceFile[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  for (const d of dirs) walk(join(REPO, d));
  return files.sort().map((f) => ts.createSourceFile(relative(REPO, f).split('\\').join('/'), readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true));
}

/** Calls `visit` on every node of `file`, depth first. */
export function forEachNode(file: ts.SourceFile, visit: (node: ts.Node) => void): void {
  const walk = (node: ts.Node) => {
    visit(node);
    ts.forEachChild(node, walk);
  };
  walk(file);
}

export interface FunctionSpan {
  file: string;
  name: string;
  /** First line, 1-based. */
  line: number;
  lines: number;
  /** The comments written just above the declaration, each without its comment markers. */
  comments: string[];
}

/** The declaration a function's comment sits above: the function itself, or the variable or property it is assigned to. */
function declarationOf(node: ts.Node): ts.Node {
  let d = node;
  while (
    ts.isVariableDeclaration(d.parent) ||
    ts.isVariableDeclarationList(d.parent) ||
    ts.isVariableStatement(d.parent) ||
    ts.isPropertyAssignment(d.parent) ||
    ts.isPropertyDeclaration(d.parent) ||
    ts.isExportAssignment(d.parent)
  ) {
    d = d.parent;
  }
  return d;
}

function nameOf(node: ts.Node, decl: ts.Node, file: ts.SourceFile): string {
  const named = (n: ts.Node): string | undefined => {
    const name = (n as { name?: ts.Node }).name;
    return name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)) ? name.text : undefined;
  };
  if (ts.isConstructorDeclaration(node)) return `${named(node.parent) ?? '(class)'} constructor`;
  const own = named(node) ?? (ts.isVariableStatement(decl) ? named(decl.declarationList.declarations[0]) : named(decl));
  const cls = ts.isClassLike(node.parent) ? named(node.parent) : undefined;
  return own ? (cls ? `${cls}.${own}` : own) : `(anonymous at ${file.getLineAndCharacterOfPosition(node.getStart()).line + 1})`;
}

/** Every function, method, constructor, accessor and arrow function in `file`, with its length in lines. */
export function functionSpans(file: ts.SourceFile): FunctionSpan[] {
  const out: FunctionSpan[] = [];
  const text = file.getFullText();
  forEachNode(file, (node) => {
    if (!ts.isFunctionLike(node) || !('body' in node) || node.body === undefined) return;
    const start = file.getLineAndCharacterOfPosition(node.getStart()).line;
    const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
    const decl = declarationOf(node);
    const comments = (ts.getLeadingCommentRanges(text, decl.getFullStart()) ?? []).map((c) =>
      text
        .slice(c.pos, c.end)
        .replace(/^\/\*\*?|\*\/$/g, '')
        .split('\n')
        .map((l) => l.replace(/^\s*(\/\/|\*(?!\/))?\s?/, ''))
        .join(' ')
        .trim(),
    );
    out.push({ file: file.fileName, name: nameOf(node, decl, file), line: start + 1, lines: end - start + 1, comments });
  });
  return out;
}
