// export.js — the filtered sessions as a CSV or JSON download, built in the
// page (a Blob), so the token never has to ride in a download URL.

/** Columns of the CSV, in order. */
export const CSV_COLUMNS = [
  'user', 'device', 'local_id', 'repo_owner', 'repo_name', 'pr_number', 'started_at', 'ended_at',
  'active_seconds', 'state', 'closed_by_server', 'updated_at',
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or newline;
 * text that a spreadsheet would run as a formula gets a leading apostrophe.
 */
export function csvField(value) {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The sessions as CSV text with a header row and CRLF line ends. */
export function toCsv(sessions) {
  const rows = [CSV_COLUMNS.join(',')];
  for (const s of sessions) rows.push(CSV_COLUMNS.map((c) => csvField(s[c])).join(','));
  return `${rows.join('\r\n')}\r\n`;
}

/** The sessions as pretty JSON: `{"exported_at", "filters", "sessions"}`. */
export function toJson(sessions, filters) {
  return `${JSON.stringify({ exported_at: new Date().toISOString(), filters, sessions }, null, 2)}\n`;
}

/** Offers `text` as a file download named `name`. */
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
