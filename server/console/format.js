// Times in the tenant's time zone, durations, and people by name.

import { language, t } from './i18n.js';

let zone = 'UTC';

/** Shows times in `tz` (the tenant's IANA zone) from now on. */
export function setZone(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    zone = tz;
  } catch {
    zone = 'UTC';
  }
}

export function timeZone() {
  return zone;
}

/** A moment (ms since the epoch) as a date and time in the tenant's zone. */
export function dateTime(ms) {
  if (ms === null || ms === undefined) return t('none');
  return new Intl.DateTimeFormat(language(), {
    timeZone: zone,
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(new Date(ms));
}

/** The day `ms` falls on in the tenant's zone, as YYYY-MM-DD. */
export function isoDay(ms) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(ms));
  return parts;
}

/** A length of time, roughly: "3 d 4 h", "2 h 5 min", "40 s" (Chinese: "3天4小时"). */
export function duration(ms) {
  const s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  const zh = language() === 'zh-CN';
  const unit = { d: zh ? '天' : ' d', h: zh ? '小时' : ' h', m: zh ? '分钟' : ' min', s: zh ? '秒' : ' s' };
  const sep = zh ? '' : ' ';
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return `${days}${unit.d}${hours ? sep + hours + unit.h : ''}`;
  if (hours > 0) return `${hours}${unit.h}${minutes ? sep + minutes + unit.m : ''}`;
  if (minutes > 0) return `${minutes}${unit.m}`;
  return `${s}${unit.s}`;
}

/** Metres as "850 m" or "2.8 km". */
export function distance(m) {
  if (m === null || m === undefined) return t('none');
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
}

/**
 * A person's name from an answer's `people` (user id → {name, role}); never a bare id. The
 * brain's entries name the brain; an id `people` does not know is someone no longer here.
 */
export function personName(people, id) {
  if (!id) return t('none');
  const person = people && people[id];
  if (person && person.role === 'brain') return t('brain');
  if (person) return person.name;
  return t('unknown_person');
}
