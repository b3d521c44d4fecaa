import { describe, expect, it } from 'vitest';
import { formatColumns } from './columns.js';
import { compileFormat, type FieldSet } from './format-template.js';

const fields: FieldSet = { name: null, status: null, pid: null, run: { pid: null, argv: null } };
const row = { name: 'a', status: 'running', pid: null, run: { pid: 7, argv: ['x', 'y'] } };

describe('compileFormat', () => {
  it('fills Go-template-like fields, case-insensitively, with \\t as a tab', () => {
    expect(compileFormat('{{.Name}}\\t{{ .status }} {{.Run.Pid}}', fields, '')(row)).toBe('a\trunning 7');
    expect(compileFormat('[{{.Pid}}] {{json .Run.Argv}}', fields, '')(row)).toBe('[] ["x","y"]');
    expect(compileFormat('json', fields, '')(row)).toBe(JSON.stringify(row));
  });

  it('names the valid fields when one is unknown', () => {
    expect(() => compileFormat('{{.Nmae}}', fields, '{{.Name}}')).toThrow(
      'unknown field ".Nmae" in --format; valid fields: .Name, .Status, .Pid, .Run',
    );
    expect(() => compileFormat('{{.Run.X}}', fields, '{{.Name}}')).toThrow(
      'unknown field ".Run.X" in --format; valid fields: .Run.Pid, .Run.Argv',
    );
  });

  it('refuses what it does not support, and a format without a field', () => {
    expect(() => compileFormat('{{if .Name}}x{{end}}', fields, '{{.Name}}')).toThrow(
      /unsupported --format action/,
    );
    expect(() => compileFormat('names', fields, '{{.Name}}')).toThrow(/names no field/);
  });

  it('gives `table <template>` a header and aligned columns', () => {
    const f = compileFormat('table {{.Name}}\\t{{.Run.Pid}}', fields, '', { table: true });
    expect(f.header).toBe('NAME\tPID');
    const cells = (l: string) => l.split('\t');
    expect(formatColumns(cells(f.header!), [cells(f(row)), cells(f({ ...row, name: 'longer' }))])).toEqual([
      'NAME     PID',
      'a        7',
      'longer   7',
    ]);
    expect(compileFormat('table {{.Name}}', fields, '').header).toBeUndefined();
  });
});
