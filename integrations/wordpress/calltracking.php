<?php

/**
 * Plugin Name:       Call Tracking
 * Description:       Adds your call-tracking deployment's site script to every page, with consent.
 * Version:           1.0.0
 * Requires at least: 5.2
 * Requires PHP:      7.4
 * License:           MIT
 * Text Domain:       calltracking
 * Domain Path:       /languages
 */

// The plugin's entry point: loads its classes and hooks them into WordPress (no output, no globals).

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/src/Options.php';
require_once __DIR__ . '/src/Frontend.php';
require_once __DIR__ . '/src/SettingsPage.php';

\CallTracking\WordPress\Options::$pluginFile = __FILE__;

add_action('plugins_loaded', [\CallTracking\WordPress\Options::class, 'loadTextDomain']);
add_action('init', [\CallTracking\WordPress\Options::class, 'register']);
add_action('wp_enqueue_scripts', [\CallTracking\WordPress\Frontend::class, 'enqueue']);
add_filter('script_loader_tag', [\CallTracking\WordPress\Frontend::class, 'scriptTag'], 10, 2);
add_action('admin_menu', [\CallTracking\WordPress\SettingsPage::class, 'addMenu']);
add_action('admin_post_calltracking_save', [\CallTracking\WordPress\SettingsPage::class, 'save']);
// The WP Consent API lists the plugins that read consent through it.
add_filter('wp_consent_api_registered_' . plugin_basename(__FILE__), '__return_true');
