// Shared by the three jest.nsbox.config.js files: the nsbox options chosen by environment variables.
//   NSBOX_MODE=zygote|fresh   -> testEnvironmentOptions.nsbox.mode   (unset: nsbox's default, zygote)
//   NSBOX_TIMEOUT=<ms>        -> testEnvironmentOptions.nsbox.timeout (unset: none)
// With neither set, nothing but the runner line is added to the project's config.
'use strict';
module.exports = function withNsbox(project) {
  const out = { ...project, runner: 'jest-environment-nsbox/runner' };
  const nsbox = {};
  if (process.env.NSBOX_MODE) nsbox.mode = process.env.NSBOX_MODE;
  if (process.env.NSBOX_TIMEOUT) nsbox.timeout = Number(process.env.NSBOX_TIMEOUT);
  if (Object.keys(nsbox).length) {
    const teo = project.testEnvironmentOptions || {};
    out.testEnvironmentOptions = { ...teo, nsbox: { ...(teo.nsbox || {}), ...nsbox } };
  }
  return out;
};
