<?php

namespace CallTracking\WordPress;

/**
 * The plugin's one option (``calltracking_settings``): what the owner chose on the settings page,
 * cleaned by one sanitize callback whoever writes it (the page, update_option, the REST settings).
 */
final class Options
{
    public const NAME = 'calltracking_settings';
    public const GROUP = 'calltracking';
    public const TEXT_DOMAIN = 'calltracking';
    public const VERSION = '1.0.0';
    // The setup pages' test source: a visit with it gets a pool number, so the owner sees the swap.
    public const TEST_SOURCE = 'calltracking-test';
    public const SITE_KEY_PATTERN = '/^sk_[A-Za-z0-9_-]{10,40}$/';
    public const CONSENT_MODES = ['always', 'event'];
    public const DEFAULT_CATEGORY = 'marketing';
    public const CATEGORIES = ['marketing', 'statistics', 'statistics-anonymous', 'functional', 'preferences'];

    /** @var string the main plugin file, for plugin_basename and plugins_url */
    public static string $pluginFile = '';

    /** @return array{enabled: bool, site_key: string, api_url: string, track_editors: bool,
     *                consent_mode: string, consent_category: string} */
    public static function defaults(): array
    {
        return [
            'enabled' => true,
            'site_key' => '',
            'api_url' => '',
            'track_editors' => false,
            'consent_mode' => 'always',
            'consent_category' => self::DEFAULT_CATEGORY,
        ];
    }

    /** @return array<string, mixed> the stored settings over the defaults */
    public static function get(): array
    {
        $stored = get_option(self::NAME, []);
        return array_merge(self::defaults(), is_array($stored) ? $stored : []);
    }

    public static function loadTextDomain(): void
    {
        load_plugin_textdomain(self::TEXT_DOMAIN, false, dirname(plugin_basename(self::$pluginFile)) . '/languages');
    }

    public static function register(): void
    {
        register_setting(self::GROUP, self::NAME, [
            'type' => 'object',
            'sanitize_callback' => [self::class, 'sanitize'],
            'default' => self::defaults(),
            'show_in_rest' => false,
        ]);
    }

    /**
     * The errors of a submitted form, by field; empty when it can be stored.
     *
     * @param array<string, mixed> $input
     * @return array<string, string>
     */
    public static function errors(array $input): array
    {
        $errors = [];
        $parsed = self::parseTag((string) ($input['tag'] ?? ''), (string) ($input['api_url'] ?? ''));
        if ($parsed['site_key'] === '') {
            $errors['tag'] = __(
                'Paste the script tag from the dashboard\'s website page, or the site key (sk_...).',
                'calltracking'
            );
        }
        if ($parsed['api_url'] === '') {
            $errors['api_url'] = __(
                'Enter the product\'s URL shown on the dashboard\'s website page, like https://calls.example.com.',
                'calltracking'
            );
        }
        return $errors;
    }

    /**
     * The site key and product URL in a pasted script tag, a bare site key, or the two fields.
     *
     * @return array{site_key: string, api_url: string}
     */
    public static function parseTag(string $tag, string $apiUrl): array
    {
        $siteKey = '';
        $tag = trim($tag);
        if (preg_match('/data-site\s*=\s*["\']?(sk_[A-Za-z0-9_-]{10,40})/', $tag, $m)) {
            $siteKey = $m[1];
        } elseif (preg_match(self::SITE_KEY_PATTERN, $tag)) {
            $siteKey = $tag;
        }
        if (trim($apiUrl) === '' && preg_match('/src\s*=\s*["\']([^"\'\s<>]+)\/ct\.js["\']/', $tag, $m)) {
            $apiUrl = $m[1];
        }
        return ['site_key' => $siteKey, 'api_url' => self::cleanUrl($apiUrl)];
    }

    /** An http(s) URL without query, fragment or trailing slash, or '' for anything else. */
    public static function cleanUrl(string $url): string
    {
        $url = esc_url_raw(trim($url), ['http', 'https']);
        $parts = wp_parse_url($url);
        if (!is_array($parts) || empty($parts['host']) || !in_array($parts['scheme'] ?? '', ['http', 'https'], true)) {
            return '';
        }
        if (isset($parts['user']) || isset($parts['pass'])) {
            return '';
        }
        $port = isset($parts['port']) ? ':' . (int) $parts['port'] : '';
        return untrailingslashit($parts['scheme'] . '://' . $parts['host'] . $port . ($parts['path'] ?? ''));
    }

    /**
     * The sanitize callback of the option: every value checked, unknown keys dropped.
     *
     * @param mixed $input
     * @return array<string, mixed>
     */
    public static function sanitize($input): array
    {
        $input = is_array($input) ? $input : [];
        $clean = self::get();
        $parsed = self::parseTag(
            (string) ($input['tag'] ?? ($input['site_key'] ?? '')),
            (string) ($input['api_url'] ?? '')
        );
        $clean['site_key'] = $parsed['site_key'];
        $clean['api_url'] = $parsed['api_url'];
        $clean['enabled'] = !empty($input['enabled']);
        $clean['track_editors'] = !empty($input['track_editors']);
        $mode = sanitize_key((string) ($input['consent_mode'] ?? 'always'));
        $clean['consent_mode'] = in_array($mode, self::CONSENT_MODES, true) ? $mode : 'always';
        $category = sanitize_key((string) ($input['consent_category'] ?? self::DEFAULT_CATEGORY));
        $clean['consent_category'] = in_array($category, self::CATEGORIES, true) ? $category : self::DEFAULT_CATEGORY;
        return $clean;
    }

    /** Whether the WP Consent API is active on this site. */
    public static function consentApiActive(): bool
    {
        return function_exists('wp_has_consent');
    }
}

/**
 * The sanitize function of the pasted tag field: a script tag with a site key is kept as that tag
 * rebuilt from its two attributes (nothing else of the paste survives), anything else as plain text.
 */
function sanitize_script_tag(string $raw): string
{
    $parsed = Options::parseTag($raw, '');
    if ($parsed['site_key'] === '') {
        return sanitize_textarea_field($raw);
    }
    if ($parsed['api_url'] === '' || strpos($raw, '<') === false) {
        return $parsed['site_key'];
    }
    return '<script async src="' . $parsed['api_url'] . '/ct.js" data-site="' . $parsed['site_key'] . '"></script>';
}
