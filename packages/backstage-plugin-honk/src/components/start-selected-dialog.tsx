/**
 * "Start selected": the window picker. Not before (a date and time in the chosen zone), a
 * daily window (start and end, HH:MM, in the same zone) and a priority; all optional. What it
 * builds is the scheduling part of the backend's bulk start request.
 */
import { Alert, Button, Dialog, DialogBody, DialogFooter, DialogHeader, Flex, Text, TextField } from '@backstage/ui';
import type { StartScheduling } from '@honk/backstage-plugin-honk-common';
import { useState } from 'react';
import { browserTimeZone, isTimeZone, zonedTimeToIso } from '../time-zone.ts';

export interface WindowForm {
  notBefore: string;
  windowStart: string;
  windowEnd: string;
  timezone: string;
  priority: string;
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The scheduling a form asks for, or the problems with it (each naming the field and what to enter). */
export function schedulingFromForm(form: WindowForm): { scheduling: StartScheduling } | { problems: string[] } {
  const problems: string[] = [];
  const scheduling: StartScheduling = {};
  const timezone = form.timezone.trim() || 'UTC';
  if (!isTimeZone(timezone))
    problems.push(`Time zone "${form.timezone}" is unknown; use an IANA name like Europe/Stockholm.`);
  if (form.notBefore.trim() !== '' && problems.length === 0) {
    const iso = zonedTimeToIso(form.notBefore, timezone);
    if (iso === undefined)
      problems.push('Not before must be a date and time as YYYY-MM-DD HH:MM, e.g. 2030-01-01 02:00.');
    else scheduling.notBefore = iso;
  }
  const start = form.windowStart.trim();
  const end = form.windowEnd.trim();
  if (start !== '' || end !== '') {
    if (!HHMM.test(start) || !HHMM.test(end)) {
      problems.push('A daily window needs both a start and an end time as HH:MM (24-hour), e.g. 01:00 and 05:00.');
    } else if (start === end) {
      problems.push('The daily window starts and ends at the same time; leave both empty for any time of day.');
    } else {
      scheduling.window = { start, end, timezone };
    }
  }
  if (form.priority.trim() !== '') {
    const priority = Number(form.priority);
    if (!Number.isInteger(priority)) problems.push('Priority must be a whole number (higher runs first).');
    else scheduling.priority = priority;
  }
  return problems.length > 0 ? { problems } : { scheduling };
}

export interface StartSelectedDialogProps {
  open: boolean;
  count: number;
  pending: boolean;
  onStart(scheduling: StartScheduling): void;
  onCancel(): void;
}

export function StartSelectedDialog(props: StartSelectedDialogProps) {
  const [form, setForm] = useState<WindowForm>({
    notBefore: '',
    windowStart: '',
    windowEnd: '',
    timezone: browserTimeZone(),
    priority: '',
  });
  const [problems, setProblems] = useState<string[]>([]);
  const set = (key: keyof WindowForm) => (value: string) => setForm((previous) => ({ ...previous, [key]: value }));

  const submit = () => {
    const result = schedulingFromForm(form);
    if ('problems' in result) {
      setProblems(result.problems);
      return;
    }
    setProblems([]);
    props.onStart(result.scheduling);
  };

  return (
    <Dialog
      isOpen={props.open}
      isDismissable={!props.pending}
      onOpenChange={(open) => {
        if (!open) props.onCancel();
      }}
      width={560}
    >
      <DialogHeader>
        Start {props.count} {props.count === 1 ? 'migration' : 'migrations'}
      </DialogHeader>
      <DialogBody>
        <Flex direction="column" gap="3">
          <Text variant="body-small">
            Leave everything empty to start now. Agents claim the tasks only after “not before” and inside the daily
            window, highest priority first.
          </Text>
          <TextField
            label="Not before"
            description="YYYY-MM-DD HH:MM in the time zone below"
            placeholder="2030-01-01 02:00"
            value={form.notBefore}
            onChange={set('notBefore')}
          />
          <Flex gap="2">
            <TextField
              label="Window start"
              description="HH:MM"
              placeholder="01:00"
              value={form.windowStart}
              onChange={set('windowStart')}
            />
            <TextField
              label="Window end"
              description="HH:MM"
              placeholder="05:00"
              value={form.windowEnd}
              onChange={set('windowEnd')}
            />
          </Flex>
          <TextField
            label="Time zone"
            description="IANA name, e.g. Europe/Stockholm"
            value={form.timezone}
            onChange={set('timezone')}
          />
          <TextField
            label="Priority"
            description="Whole number; higher runs first"
            inputMode="numeric"
            value={form.priority}
            onChange={set('priority')}
          />
          {problems.length > 0 ? (
            <Alert
              status="danger"
              title="Check the window"
              description={
                <ul style={{ margin: 0, paddingLeft: 16 }}>
                  {problems.map((problem) => (
                    <li key={problem}>{problem}</li>
                  ))}
                </ul>
              }
            />
          ) : null}
        </Flex>
      </DialogBody>
      <DialogFooter>
        <Button variant="secondary" onPress={props.onCancel} isDisabled={props.pending}>
          Cancel
        </Button>
        <Button variant="primary" onPress={submit} isPending={props.pending}>
          Start {props.count}
        </Button>
      </DialogFooter>
    </Dialog>
  );
}
