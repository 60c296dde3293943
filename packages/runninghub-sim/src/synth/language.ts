import type { LanguageBoost } from '@voxline/runninghub';

/** eSpeak NG's voice for each language_boost of the contract. */
const ESPEAK_LANGUAGES: Record<Exclude<LanguageBoost, 'auto'>, string> = {
  Chinese: 'cmn',
  'Chinese,Yue': 'yue',
  English: 'en-us',
  Arabic: 'ar',
  Russian: 'ru',
  Spanish: 'es',
  French: 'fr-fr',
  Portuguese: 'pt-br',
  German: 'de',
  Turkish: 'tr',
  Dutch: 'nl',
  Ukrainian: 'uk',
  Vietnamese: 'vi',
  Indonesian: 'id',
  Japanese: 'ja',
  Italian: 'it',
  Korean: 'ko',
  Thai: 'th',
  Polish: 'pl',
  Romanian: 'ro',
  Greek: 'el',
  Czech: 'cs',
  Finnish: 'fi',
  Hindi: 'hi',
};

// For `auto` (and no boost): the script gives the language away often enough for a simulator.
const SCRIPTS: Array<[RegExp, string]> = [
  [/\p{Script=Hiragana}|\p{Script=Katakana}/u, 'ja'],
  [/\p{Script=Hangul}/u, 'ko'],
  [/\p{Script=Han}/u, 'cmn'],
  [/\p{Script=Cyrillic}/u, 'ru'],
  [/\p{Script=Arabic}/u, 'ar'],
  [/\p{Script=Greek}/u, 'el'],
  [/\p{Script=Thai}/u, 'th'],
  [/\p{Script=Devanagari}/u, 'hi'],
];

export function espeakLanguage(boost: LanguageBoost | null, text: string): string {
  if (boost && boost !== 'auto') return ESPEAK_LANGUAGES[boost];
  for (const [script, language] of SCRIPTS) if (script.test(text)) return language;
  return 'en-us';
}
