#!/usr/bin/env node
// lokiwrap's npm launcher: runs the native lokiwrap from this platform's package
// (@lokiwrap/<platform>, one of the optional dependencies) with the same arguments, streams and
// exit status. No dependencies and no install script: npm only unpacks files.
'use strict';

const { spawnSync } = require('child_process');

// The package for this machine: os, cpu, and on Linux the C library. musl's loader is
// /lib/ld-musl-<arch>.so.1: one stat, where asking Node (process.report) costs milliseconds.
function platformPackages() {
  const { platform, arch } = process;
  if (platform !== 'linux') return [`@lokiwrap/${platform}-${arch}`];
  const loaderArch = { x64: 'x86_64', arm64: 'aarch64' }[arch] || arch;
  let musl = false;
  try {
    musl = require('fs').statSync(`/lib/ld-musl-${loaderArch}.so.1`).isFile();
  } catch {}
  return [`@lokiwrap/linux-${arch}-${musl ? 'musl' : 'gnu'}`];
}

function findBinary() {
  const packages = platformPackages();
  for (const name of packages) {
    try {
      return require.resolve(`${name}/bin/lokiwrap`);
    } catch {}
  }
  const name = packages[0];
  fail(
    `lokiwrap: the native lokiwrap for this machine (${name}) is not installed.\n` +
      `It is an optional dependency of lokiwrap, and npm leaves it out when optional dependencies\n` +
      `are omitted (--omit=optional, --no-optional) or when a package-lock.json written on another\n` +
      `platform lacks it (npm/cli#4828). Fix: npm install --include=optional ${name}@${version()}\n` +
      `next to lokiwrap, or delete node_modules and package-lock.json and run npm install again.\n` +
      `No package for your platform? Build lokiwrap from source: cargo install --path crates/lokiwrap.`,
  );
}

function version() {
  try {
    return require('../package.json').version;
  } catch {
    return 'latest';
  }
}

function fail(message) {
  process.stderr.write(message + '\n');
  process.exit(127);
}

const binary = findBinary();

// ^C and ^\ reach the whole job from the terminal, so the native lokiwrap and the tool have them
// already: this launcher waits for the tool's end (a REPL survives ^C), as a shell would. While
// the tool runs, Node runs no JavaScript, so other signals are not passed on (see the README).
const ignore = () => {};
process.on('SIGINT', ignore);
process.on('SIGQUIT', ignore);

// spawnSync, not spawn: no event loop to start, measurably cheaper (bench/npm_launcher.sh).
const result = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
if (result.error) {
  fail(`lokiwrap: cannot run ${binary} (${result.error.message}); reinstall it: npm install lokiwrap@${version()}`);
}
if (result.signal === null) process.exit(result.status);
// Die of the same signal, so the caller sees what the tool did.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGQUIT');
process.kill(process.pid, result.signal);
// Still here: Node ignores this signal (SIGPIPE). Exit as a shell reports a signal death.
process.exit(128 + require('os').constants.signals[result.signal]);
