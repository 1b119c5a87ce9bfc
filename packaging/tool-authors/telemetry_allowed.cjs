// telemetryAllowed(): whether this tool may send its own usage telemetry.
// lokiwrap installed: its answer, and nothing is sent when it cannot give one.
// lokiwrap not installed: the tool's own rules (here DO_NOT_TRACK; add the tool's own switch).
'use strict';
const { spawnSync } = require('node:child_process');
const { accessSync, constants } = require('node:fs');
const path = require('node:path');

function findOnPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

function telemetryAllowed() {
  const lokiwrap = findOnPath('lokiwrap');
  if (lokiwrap === null) {
    const value = (process.env.DO_NOT_TRACK || '').trim().toLowerCase();
    return ['', '0', 'false', 'no', 'off'].includes(value);
  }
  // 0: allowed; 1: switched off; anything else (broken install, killed, timed out): send nothing.
  const answer = spawnSync(lokiwrap, ['telemetry', 'enabled'], { stdio: 'ignore', timeout: 5000 });
  return answer.error === undefined && answer.status === 0;
}

module.exports = { telemetryAllowed };
