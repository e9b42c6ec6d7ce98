<?php

namespace CallTracking\WordPress;

/**
 * The site script on the public pages: ``ct.js`` from the owner's own deployment, with its data-
 * attributes, and the consent glue (``assets/consent.js``) when the WP Consent API decides.
 */
final class Frontend
{
    public const HANDLE = 'calltracking';
    public const CONSENT_HANDLE = 'calltracking-consent';

    /** @var array<string, array<string, string>> the data- attributes of each of our handles, set by enqueue() */
    private static array $attributes = [];

    /** Whether this WordPress has the loader's ``strategy`` argument (async/defer, 6.3+). */
    public static function hasStrategy(): bool
    {
        return version_compare((string) get_bloginfo('version'), '6.3', '>=');
    }

    /** Whether this request is a visit of the settings page's "test this page" link. */
    public static function isTestVisit(): bool
    {
        if (!isset($_GET['utm_source'])) {
            return false;
        }
        return sanitize_text_field(wp_unslash($_GET['utm_source'])) === Options::TEST_SOURCE;
    }

    /** The owner following the test link: consent is theirs to give, so the script starts at once. */
    public static function isOwnerTest(): bool
    {
        return self::isTestVisit() && is_user_logged_in() && current_user_can('manage_options');
    }

    /** Whether the script belongs on this page for this visitor. */
    public static function wanted(array $settings): bool
    {
        if (is_admin() || !$settings['enabled'] || $settings['site_key'] === '' || $settings['api_url'] === '') {
            return false;
        }
        if (is_user_logged_in() && current_user_can('edit_posts') && !$settings['track_editors']) {
            // Editors browsing their own site are not visitors, but the owner's test link is for them.
            return self::isTestVisit();
        }
        return true;
    }

    public static function enqueue(): void
    {
        $settings = Options::get();
        if (!self::wanted($settings)) {
            return;
        }
        $attributes = ['data-site' => $settings['site_key']];
        $glue = false;
        $ownerTest = self::isOwnerTest();
        if (Options::consentApiActive() && !$ownerTest) {
            $attributes['data-consent'] = 'required';
            $glue = true;
        } elseif ($settings['consent_mode'] === 'event' && !$ownerTest) {
            // Without the Consent API: ct.js waits for the site's own ct:consent event.
            $attributes['data-consent'] = 'required';
        }
        self::$attributes = [self::HANDLE => $attributes];
        if ($glue) {
            self::$attributes[self::CONSENT_HANDLE] = ['data-category' => $settings['consent_category']];
            self::add(self::CONSENT_HANDLE, plugins_url('assets/consent.js', Options::$pluginFile), Options::VERSION);
        }
        self::add(self::HANDLE, $settings['api_url'] . '/ct.js', null);
    }

    /** wp_enqueue_script, async: through the loader's strategy on 6.3+, by script_loader_tag before. */
    private static function add(string $handle, string $src, ?string $version): void
    {
        if (self::hasStrategy()) {
            wp_enqueue_script($handle, $src, [], $version, ['strategy' => 'async', 'in_footer' => false]);
            return;
        }
        wp_enqueue_script($handle, $src, [], $version, false);
    }

    /** The script_loader_tag filter: our tags get their data- attributes (and async before 6.3). */
    public static function scriptTag(string $tag, string $handle): string
    {
        if (!isset(self::$attributes[$handle])) {
            return $tag;
        }
        $extra = '';
        foreach (self::$attributes[$handle] as $name => $value) {
            $extra .= ' ' . sanitize_key($name) . '="' . esc_attr($value) . '"';
        }
        if (!self::hasStrategy() && strpos($tag, ' async') === false) {
            $extra .= ' async';
        }
        return preg_replace('/<script\b/', '<script' . $extra, $tag, 1) ?? $tag;
    }
}
