// Making sense of runc's error output (runc.ts) and of what the monitor reads
// from the kernel (monitor.ts): OOM counters, /proc/<pid>/stat, exit codes of
// processes that never started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oomKillCount, parseProcStat, startFailureExitCode } from '../../../worker/executor/oci/monitor.js';
import { runcMessage } from '../../../worker/executor/oci/runc.js';

test('runc errors in text and JSON log format, without the "runc run failed" prefix', () => {
  assert.equal(runcMessage('time="2026-01-01T00:00:00Z" level=error msg="container does not exist"\n'), 'container does not exist');
  assert.equal(
    runcMessage('{"level":"warning","msg":"a warning","time":"x"}\n{"level":"error","msg":"runc run failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH","time":"x"}\n'),
    'unable to start container process: exec: "nope": executable file not found in $PATH',
  );
  assert.equal(runcMessage('time="x" level=error msg="with \\"quotes\\""'), 'with "quotes"');
  assert.equal(runcMessage('plain line\n'), 'plain line');
  assert.equal(runcMessage(''), 'failed without a message');
});

test('OOM kills counted from cgroup v1 memory.oom_control or v2 memory.events', () => {
  assert.equal(oomKillCount('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n'), 2);
  assert.equal(oomKillCount('low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n'), 1);
  assert.equal(oomKillCount('oom_kill_disable 0\nunder_oom 0\n'), 0);
});

test('exit codes of a process that never started, as Docker gives them', () => {
  assert.equal(startFailureExitCode('exec: "x": executable file not found in $PATH'), 127);
  assert.equal(startFailureExitCode('exec /app: no such file or directory'), 127);
  assert.equal(startFailureExitCode('exec /app: permission denied'), 126);
  assert.equal(startFailureExitCode('something else'), 128);
});

test('/proc/<pid>/stat: state and start time, even with spaces and parens in the name', () => {
  const line = '1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615';
  assert.deepEqual(parseProcStat(line), { state: 'S', startTime: '987654' });
  assert.equal(parseProcStat('garbage'), undefined);
});
