/** The checks of a migration's last validation report: name, expected, actual, ok. */
import { Text } from '@backstage/ui';
import { formatValue, type ValidationCheckView } from '../format.ts';

const cell = { padding: '4px 8px', textAlign: 'left' as const, verticalAlign: 'top' as const };

export function ValidationReport({ checks }: { checks: ValidationCheckView[] }) {
  if (checks.length === 0) return <Text variant="body-small">The report has no checks.</Text>;
  return (
    <table aria-label="Validation report" style={{ borderCollapse: 'collapse', width: '100%' }}>
      <thead>
        <tr>
          <th style={cell}>Check</th>
          <th style={cell}>Expected</th>
          <th style={cell}>Actual</th>
          <th style={cell}>Result</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((check) => (
          <tr key={check.name} data-check={check.name}>
            <td style={cell}>{check.name}</td>
            <td style={{ ...cell, wordBreak: 'break-all' }}>{formatValue(check.expected)}</td>
            <td style={{ ...cell, wordBreak: 'break-all' }}>{formatValue(check.actual)}</td>
            <td style={cell} title={check.message}>
              {check.ok ? 'ok' : `failed${check.message ? `: ${check.message}` : ''}`}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
