// Lets the module build on its own (`gradle -p android assembleRelease`); an app can instead
// include it from its own settings:
//   include(":fieldwork")
//   project(":fieldwork").projectDir = file("path/to/fieldwork/android")
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "fieldwork-android"
