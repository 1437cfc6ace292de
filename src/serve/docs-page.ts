/** The parts of an OpenAPI document the page shows. */
interface OpenApiDoc {
  readonly info: { readonly title: string; readonly description?: string };
  readonly paths: Record<string, Record<string, Operation>>;
}
interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly parameters?: readonly { readonly name: string; readonly in: string; readonly required?: boolean; readonly description?: string; readonly schema?: { readonly enum?: readonly unknown[]; readonly default?: unknown } }[];
}

/**
 * /docs: the OpenAPI document as one page for people, every route and parameter with an example
 * curl line. Self-contained (no script, nothing fetched from elsewhere): the server may sit on a
 * network without the internet.
 */
export function docsPage(doc: OpenApiDoc): string {
  const routes = Object.entries(doc.paths).flatMap(([route, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}${p.required ? ', required' : ''}</td><td>${esc(p.description ?? '')}${
              p.schema?.enum ? ` <i>(${p.schema.enum.map((v) => esc(String(v))).join(' | ')})</i>` : ''
            }${p.schema?.default !== undefined ? ` <i>default ${esc(String(p.schema.default))}</i>` : ''}</td></tr>`,
        )
        .join('');
      return (
        `<section><h2><code>${method.toUpperCase()} ${esc(route)}</code></h2><p>${esc(op.summary ?? '')}</p>` +
        (op.description ? `<p>${esc(op.description)}</p>` : '') +
        (params ? `<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>${params}</table>` : '') +
        '</section>'
      );
    }),
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(doc.info.title)}</title><style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:0 .2rem}h2{font-size:1.1rem;margin-top:2rem}</style></head><body>
<h1>${esc(doc.info.title)}</h1><p>${esc(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Example:
<code>curl -H "Authorization: Bearer $MDW_API_TOKEN" 'http://127.0.0.1:8600/api/v1/historical/AAPL?start=2024-01-02&amp;end=2024-01-31&amp;format=csv'</code>
(the header only when the server runs with MDW_API_TOKEN).</p>
${routes.join('\n')}</body></html>
`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
