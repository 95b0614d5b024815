// The shell every generated HTML page shares: one self-contained file with its CSS inline.
import { esc } from './svg.js';

export interface HtmlPage {
  title: string;
  heading: string;
  /** The line under the heading, as HTML (escape what came from the user). */
  subHtml: string;
  css: string;
  /** The page's sections (and scripts), each as HTML, in order. */
  body: readonly string[];
}

export function htmlPage(p: HtmlPage): string {
  return ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">', `<title>${esc(p.title)}</title>`, `<style>${p.css}</style>`, '</head><body>', `<h1>${esc(p.heading)}</h1>`, `<p class="sub">${p.subHtml}</p>`, ...p.body, '</body></html>', ''].join('\n');
}
