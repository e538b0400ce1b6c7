// Durations in milliseconds, named once: timers, key lifetimes, retention cut-offs and bounds
// read as `24 * MS_PER_HOUR` rather than as a number to recount.

export const MS_PER_SECOND = 1000;
export const MS_PER_MINUTE = 60 * MS_PER_SECOND;
export const MS_PER_HOUR = 60 * MS_PER_MINUTE;
export const MS_PER_DAY = 24 * MS_PER_HOUR;
